"""Liveness, readiness and metrics for the operator's probes and Prometheus."""
