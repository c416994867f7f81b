"""Changed rows are told after commit: ids for ORM changes, None for bulk ones, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from chargegroups.kit.after_commit import watch_rows
from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger, Operator
from chargegroups.ocpp.presence import mark_seen
from tests.fixtures.factories import make_charger, make_operator


async def test_rows_changed_through_the_orm_are_told_once_committed(uow) -> None:
    told: list[frozenset[str] | None] = []
    stop = watch_rows((Charger,), told.append)
    try:
        async with uow() as s:
            world = await make_operator(s)
            charger = await make_charger(s, world.operator)
            assert told == []  # flushed, not committed
        assert told == [frozenset({charger.id})]
        async with uow() as s:  # a row of another model: nothing for this listener
            (await s.get_one(Operator, world.operator.id)).name = "Renamed"
        assert told == [frozenset({charger.id})]
    finally:
        stop()


@pytest.fixture
async def watched(uow) -> AsyncIterator[tuple[Charger, list[frozenset[str] | None]]]:
    """A committed charger, and what a listener of chargers is told from now on."""
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
    told: list[frozenset[str] | None] = []
    stop = watch_rows((Charger,), told.append)
    yield charger, told
    stop()


async def test_a_bulk_statement_is_told_as_an_unknown_set_and_a_rollback_as_nothing(
    uow, watched
) -> None:
    charger, told = watched
    async with uow() as s:
        await s.execute(update(Charger).where(Charger.id == charger.id).values(name="Bulk"))
    assert told == [None]
    with pytest.raises(RuntimeError):
        async with uow() as s:
            (await s.get_one(Charger, charger.id)).name = "Never"
            await s.flush()
            raise RuntimeError("the change failed")
    assert told == [None]


async def test_a_savepoint_is_not_a_commit(uow, watched) -> None:
    charger, told = watched
    async with uow() as s:
        async with s.begin_nested():
            (await s.get_one(Charger, charger.id)).name = "Inside a savepoint"
        assert told == []  # released, but the transaction is still open
    assert told == [frozenset({charger.id})]


async def test_a_listener_of_some_columns_ignores_writes_to_others(uow, watched) -> None:
    """The OCPP edge's case: chargers' last contact, stamped in bulk by primary key every few
    seconds, must not drop their credentials; a new password must."""
    charger, _ = watched
    told: list[frozenset[str] | None] = []
    stop = watch_rows((Charger,), told.append, columns=frozenset({"password_hash"}))
    try:
        async with uow() as s:
            await mark_seen(s, [(charger.id, utcnow(), "1.6")])
            (await s.get_one(Charger, charger.id)).name = "Renamed"
        assert told == []
        async with uow() as s:
            await s.execute(update(Charger), [{"id": charger.id, "password_hash": "x"}])
        async with uow() as s:
            (await s.get_one(Charger, charger.id)).password_hash = "y"
        assert told == [frozenset({charger.id}), frozenset({charger.id})]
    finally:
        stop()
