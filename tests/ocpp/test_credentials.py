"""Chargers' handshake credentials in memory: what is remembered, and when it is read again."""

from __future__ import annotations

import asyncio

import pytest

from chargegroups.kit.secrets import hash_password
from chargegroups.limits.counters import FailureLimits, Limits
from chargegroups.models import Charger
from chargegroups.ocpp.credentials import ChargerCredentials

SECRET = "charger-secret"
ADDRESS = "10.0.0.1"
SECRET_HASH = hash_password(SECRET)


def charger(charger_id: str = "c1", password_hash: str = SECRET_HASH) -> Charger:
    return Charger(id=charger_id, charge_point_id="CP-1", password_hash=password_hash)


@pytest.fixture
def guard(sessionmaker, settings) -> FailureLimits:
    return FailureLimits.from_settings(Limits(sessionmaker), settings)


class Rows:
    """A stand-in for the database read: counts reads, can be held mid-read."""

    def __init__(self, row: Charger | None) -> None:
        self.row = row
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def read(self, _charge_point_id: str) -> Charger | None:
        self.reads += 1
        row = self.row
        if self.hold is not None:
            await self.hold.wait()
        return row


async def test_a_known_charger_is_not_read_again() -> None:
    cache, rows = ChargerCredentials(), Rows(charger())

    first = await cache.find("CP-1", rows.read)
    again = await cache.find("CP-1", rows.read)

    assert first is again and rows.reads == 1


async def test_unknown_chargers_are_read_every_time() -> None:
    cache, rows = ChargerCredentials(), Rows(None)

    assert await cache.find("CP-1", rows.read) is None
    assert await cache.find("CP-1", rows.read) is None
    assert rows.reads == 2


async def test_after_the_trust_period_the_row_is_read_again() -> None:
    cache, rows = ChargerCredentials(trust_seconds=0), Rows(charger())

    await cache.find("CP-1", rows.read)
    await cache.find("CP-1", rows.read)

    assert rows.reads == 2


async def test_a_change_drops_the_charger_and_its_accepted_password(guard) -> None:
    cache, rows = ChargerCredentials(), Rows(charger())
    known = await cache.find("CP-1", rows.read)
    assert known is not None and await cache.verify(known, SECRET, guard, ADDRESS)

    rows.row = charger(password_hash=hash_password("new-secret"))
    cache.forget(frozenset({"c1"}))
    fresh = await cache.find("CP-1", rows.read)

    assert fresh is not None and rows.reads == 2
    assert not await cache.verify(fresh, SECRET, guard, ADDRESS)
    assert await cache.verify(fresh, "new-secret", guard, ADDRESS)


async def test_a_read_that_overlapped_a_change_is_not_kept() -> None:
    cache, rows = ChargerCredentials(), Rows(charger())
    rows.hold = asyncio.Event()
    reading = asyncio.create_task(cache.find("CP-1", rows.read))
    await asyncio.sleep(0)  # the read has started with the old row
    cache.forget(frozenset({"c1"}))
    rows.hold.set()
    await reading
    rows.hold = None

    await cache.find("CP-1", rows.read)

    assert rows.reads == 2


async def test_a_wrong_password_is_never_taken_for_the_right_one(guard) -> None:
    cache, rows = ChargerCredentials(), Rows(charger())
    known = await cache.find("CP-1", rows.read)
    assert known is not None

    assert not await cache.verify(known, "guess", guard, ADDRESS)
    assert known.digest is None
    assert await cache.verify(known, SECRET, guard, ADDRESS)
    assert known.digest is not None
