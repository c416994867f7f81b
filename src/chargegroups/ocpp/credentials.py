"""Charger authentication at the WebSocket handshake (C4, OCPP security profile 1).

Chargers reconnect in storms after a network outage, and each handshake used to cost a database
read and, for the password, argon2 — deliberately slow (tens of milliseconds). So the process keeps
what a handshake needs in memory, per charge_point_id: the charger row, read at most
``TRUST_SECONDS`` ago, and an HMAC of the password argon2 last accepted for that row's hash, under
a random key that lives only in this process. A warm handshake then costs one HMAC and no I/O.

Any committed change to a charger row drops its entry (``kit.after_commit.watch_rows``), so a new
password or charge_point_id applies at the very next handshake, also when another process
committed it (``news.py``); a read that overlapped such a change is not kept.
``TRUST_SECONDS`` bounds how long a change made outside the application (raw SQL) can go
unseen. Unknown chargers are never remembered: a charger added later is found at once.

Guessing is limited for the whole deployment (N2, ``limits``): failures count per
charge_point_id and per client address in the database, and after a few each further one
refuses the handshake for longer (429) without looking at the password, unless it is the one
this process accepted before (so a guesser cannot lock a connected charger out of a process
that knows it). A wrong password is remembered on the entry too (its keyed hash): repeating it
costs no argon2 until the entry is read again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chargegroups.kit.after_commit import watch_rows
from chargegroups.kit.secrets import verify_password_off_loop
from chargegroups.limits.counters import FailureLimits
from chargegroups.limits.rules import limit_key
from chargegroups.models import Charger


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


TRUST_SECONDS = 60.0
#: Wrong passwords remembered per charger entry (a bound on memory; more still cost argon2).
MAX_REFUSED_REMEMBERED = 16

#: What a handshake relies on: a change to any of these (or the row's deletion) drops the charger
#: from memory. Its last contact, written every few seconds, does not; everything else a
#: connection needs is read afresh by the charger's id (the decision) or in a transaction.
CREDENTIAL_COLUMNS = frozenset({"charge_point_id", "password_hash", "operator_id"})


@dataclass(slots=True)
class KnownCharger:
    """What a handshake needs of one charger, as this process last read it."""

    charger: Charger
    read_at: float  # time.monotonic()
    digest: bytes | None = None  # keyed hash of the password argon2 accepted for the row's hash
    refused: set[bytes] = field(default_factory=set)  # keyed hashes of passwords argon2 refused


class ChargerCredentials:
    """Per-process memory of chargers' handshake credentials (see the module's docstring)."""

    def __init__(self, trust_seconds: float = TRUST_SECONDS) -> None:
        self.trust_seconds = trust_seconds
        self._key = secrets.token_bytes(32)
        self._known: dict[str, KnownCharger] = {}  # by charge_point_id
        self._charge_point_ids: dict[str, str] = {}  # charger id -> key in _known
        self._generation = 0  # bumped by every change: a read that overlapped one is not kept
        # Changes are delivered in the committing thread, which need not be the event loop's.
        self._lock = threading.Lock()
        _EVERY.add(self)

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._key, password.encode(), hashlib.sha256).digest()

    async def find(
        self, charge_point_id: str, read: Callable[[str], Awaitable[Charger | None]]
    ) -> KnownCharger | None:
        """The charger from memory, or ``read`` from the database when unknown or too old."""
        known = self._known.get(charge_point_id)
        if known is not None and time.monotonic() - known.read_at < self.trust_seconds:
            return known
        generation = self._generation
        charger = await read(charge_point_id)
        if charger is None:
            return None
        fresh = KnownCharger(charger, time.monotonic())
        if known is not None and known.charger.password_hash == charger.password_hash:
            fresh.digest = known.digest
        with self._lock:
            if self._generation == generation:
                self._known[charge_point_id] = fresh
                self._charge_point_ids[charger.id] = charge_point_id
        return fresh

    async def verify(
        self, known: KnownCharger, password: str, guard: FailureLimits, client_address: str
    ) -> bool:
        """Is ``password`` the charger's? argon2 only for a password not checked before.

        :class:`~chargegroups.errors.RateLimited` while the charge_point_id or the address is
        refused after failures, unless it is the password accepted before.
        """
        digest = self._digest(password)
        if known.digest is not None and hmac.compare_digest(known.digest, digest):
            return True
        keys = (
            limit_key("handshake", known.charger.charge_point_id),
            limit_key("handshake-address", client_address),
        )
        await guard.check(*keys)
        right = digest not in known.refused and await verify_password_off_loop(
            password, known.charger.password_hash
        )
        if not right:
            if len(known.refused) < MAX_REFUSED_REMEMBERED:
                known.refused.add(digest)
            await guard.failed(*keys)
            return False
        await guard.succeeded(keys[0])
        # Kept on the entry it was checked against: if a change dropped it meanwhile, the digest
        # goes with it.
        known.digest = digest
        return True

    def forget(self, charger_ids: frozenset[str] | None) -> None:
        """These chargers changed (None: some, which is unknown), read them again."""
        with self._lock:
            self._generation += 1
            if charger_ids is None:
                self._known.clear()
                self._charge_point_ids.clear()
                return
            for charger_id in charger_ids:
                charge_point_id = self._charge_point_ids.pop(charger_id, "")
                known = self._known.get(charge_point_id)
                if known is not None and known.charger.id == charger_id:
                    del self._known[charge_point_id]


_EVERY: weakref.WeakSet[ChargerCredentials] = weakref.WeakSet()


def _forget_everywhere(charger_ids: frozenset[str] | None) -> None:
    for credentials in list(_EVERY):
        credentials.forget(charger_ids)


# For the life of the process, so every process that commits announces these changes (N1).
watch_rows((Charger,), _forget_everywhere, columns=CREDENTIAL_COLUMNS)
