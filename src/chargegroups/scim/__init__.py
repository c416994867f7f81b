"""SCIM 2.0 provisioning (A10): per-account tokens and the ``/scim/v2`` edge over the services."""
