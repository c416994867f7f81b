"""Pure rules about users' identities."""

from __future__ import annotations

import secrets


def normalize_email(email: str) -> str:
    """Emails are unique per operator, case-insensitively (A7)."""
    return email.strip().lower()


def email_domain(email: str) -> str:
    return normalize_email(email).rpartition("@")[2]


def new_parent_id_tag() -> str:
    """The user's own OCPP parent id tag (D8): 20 characters, the OCPP 1.6 IdToken limit."""
    return "U" + secrets.token_hex(10).upper()[:19]
