"""Secrets are stored only as hashes (A8): argon2 for passwords, SHA-256 for random tokens.

Random tokens carry 256 bits of entropy, so a fast hash is safe for them and lets us look a
token up by its hash; passwords are chosen by people and need a slow, salted hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal which part was wrong.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# argon2 takes tens of milliseconds of CPU on purpose: on the event loop, a burst of guesses
# would stall every other request. It runs on these few threads (argon2-cffi releases the GIL),
# which also bounds the CPU that password checks can take at once; a core stays for the loop.
PASSWORD_THREAD_COUNT = max(1, (os.cpu_count() or 2) - 1)
PASSWORD_THREADS = ThreadPoolExecutor(PASSWORD_THREAD_COUNT, thread_name_prefix="argon2")


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    """:func:`verify_password` on :data:`PASSWORD_THREADS`: the event loop serves on."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(PASSWORD_THREADS, verify_password, password, password_hash)


async def hash_password_off_loop(password: str) -> str:
    """:func:`hash_password` on :data:`PASSWORD_THREADS`."""
    return await asyncio.get_running_loop().run_in_executor(
        PASSWORD_THREADS, hash_password, password
    )


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
