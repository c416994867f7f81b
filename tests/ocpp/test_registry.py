"""The node's registry of connections: takeovers by newer connections, ClearCache given up for
a connection that closed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from chargegroups.charger.connections import Connected
from chargegroups.charger.revocation import Revocation
from chargegroups.kit.clock import utcnow
from chargegroups.ocpp.registry import Link, Registry


def link(charger_id: str = "c1", *, closes: list[tuple[int, str]], answers: bool = True) -> Link:
    now = utcnow()

    async def close(code: int, reason: str) -> None:
        closes.append((code, reason))

    async def clear_cache() -> None:
        if not answers:
            await asyncio.Event().wait()  # a charger that never answers

    async def call(action: str, payload: dict[str, object]) -> dict[str, object]:
        return {}

    return Link(
        charger_id=charger_id,
        operator_id="op",
        charge_point_id=f"CP-{charger_id}",
        ocpp_version="1.6",
        connected_at=now,
        last_seen_at=now,
        close=close,
        clear_cache=clear_cache,
        call=call,
    )


async def test_a_newer_connection_elsewhere_closes_this_one_and_an_older_one_does_not() -> None:
    registry = Registry()
    closes: list[tuple[int, str]] = []
    here = link(closes=closes)
    here.written.set()
    await registry.attach(here)

    registry.replaced([Connected("c1", "older", here.connected_at - timedelta(seconds=1))])
    registry.replaced([Connected("c1", here.connection_id, here.connected_at)])  # itself
    await asyncio.sleep(0)
    assert closes == []

    registry.replaced([Connected("c1", "newer", here.connected_at + timedelta(seconds=1))])
    await asyncio.gather(*registry._tasks)
    assert closes == [(1000, "replaced by a new connection")]


async def test_clear_cache_to_a_connection_that_closes_meanwhile_is_given_up() -> None:
    """Finding 6: it used to wait 30 s for an answer that cannot come, and log a traceback."""
    registry = Registry()
    silent = link(closes=[], answers=False)
    silent.written.set()
    await registry.attach(silent)

    registry.send_clear_cache(Revocation("op", None))
    (task,) = registry._tasks
    registry.leave(silent)
    await asyncio.wait_for(task, 5)  # bounded: fails if it still waits for the charger

    assert task.done() and task.exception() is None
    assert registry.concerned(Revocation("op", None)) == []  # closed: no longer concerned
