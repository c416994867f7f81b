"""Failed charger handshakes are limited for the whole deployment (N2) and cheap to repeat."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest

from chargegroups.config import Settings
from chargegroups.errors import RateLimited
from chargegroups.kit import secrets
from chargegroups.limits.counters import FailureLimits, Limits
from chargegroups.ocpp.credentials import ChargerCredentials, KnownCharger
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network
from tests.ocpp.test_connection import handshake_status


def _frozen_limits(sessionmaker, settings: Settings) -> FailureLimits:
    instant = datetime(2026, 12, 3, 12, tzinfo=UTC)
    return FailureLimits.from_settings(Limits(sessionmaker, clock=lambda: instant), settings)


async def test_after_the_free_failures_even_the_right_password_is_refused(
    network: Network, sessionmaker, settings: Settings
) -> None:
    guard = _frozen_limits(sessionmaker, settings)
    credentials = ChargerCredentials()
    known = KnownCharger(network.private, time.monotonic())
    tries = [
        await credentials.verify(known, f"guess {n}", guard, "10.0.0.9")
        for n in range(settings.auth_free_failures + 1)
    ]
    assert tries == [False] * (settings.auth_free_failures + 1)
    with pytest.raises(RateLimited):
        await credentials.verify(known, PASSWORD, guard, "10.0.0.10")


async def test_a_password_accepted_before_still_passes_while_guessers_are_refused(
    network: Network, sessionmaker, settings: Settings
) -> None:
    guard = _frozen_limits(sessionmaker, settings)
    credentials = ChargerCredentials()
    known = KnownCharger(network.private, time.monotonic())
    assert await credentials.verify(known, PASSWORD, guard, "10.0.0.9")
    for n in range(settings.auth_free_failures + 1):
        await credentials.verify(known, f"guess {n}", guard, "10.0.0.66")
    with pytest.raises(RateLimited):
        await credentials.verify(known, "guess again", guard, "10.0.0.66")
    assert await credentials.verify(known, PASSWORD, guard, "10.0.0.9")


async def test_a_repeated_wrong_password_costs_no_second_hash(
    ocpp_url: str, network: Network
) -> None:
    """With every argon2 thread busy, the wrong password already refused is refused again."""
    cp_id = network.public.charge_point_id
    assert await handshake_status(ocpp_url, cp_id, "wrong password", ["ocpp1.6"]) == 401
    loop = asyncio.get_running_loop()
    release = threading.Event()
    busy = [
        loop.run_in_executor(secrets.PASSWORD_THREADS, release.wait)
        for _ in range(secrets.PASSWORD_THREAD_COUNT)
    ]
    try:
        assert await handshake_status(ocpp_url, cp_id, "wrong password", ["ocpp1.6"]) == 401
    finally:
        release.set()
        await asyncio.gather(*busy)
