"""Charger authentication at the WebSocket handshake (C4, OCPP security profile 1).

Argon2 is deliberately slow (tens of milliseconds), and chargers reconnect in storms after a
network outage. So a password is verified with argon2 once per process and charger; what is
kept is an HMAC of it under a random key that lives only in this process's memory, next to the
hash it was checked against. A later handshake with the same password costs one HMAC; a changed
stored hash (new password) or a different password goes through argon2 again. Failures are never
cached, so guessing stays argon2-slow. Nothing is written anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets

from chargegroups.kit.secrets import verify_password


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(username, password)`` of an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


class VerifiedPasswords:
    """Per-process memory of passwords argon2 has already accepted, as keyed hashes."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._known: dict[str, tuple[str, bytes]] = {}

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._key, password.encode(), hashlib.sha256).digest()

    async def verify(self, charger_id: str, password_hash: str, password: str) -> bool:
        digest = self._digest(password)
        known = self._known.get(charger_id)
        if (
            known is not None
            and known[0] == password_hash
            and hmac.compare_digest(known[1], digest)
        ):
            return True
        # argon2 off the event loop: other chargers keep being served meanwhile.
        if not await asyncio.to_thread(verify_password, password, password_hash):
            return False
        self._known[charger_id] = (password_hash, digest)
        return True
