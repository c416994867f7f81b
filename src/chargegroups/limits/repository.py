"""The counters' queries: one atomic statement per change, on PostgreSQL and SQLite alike."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import LimitCounter
from chargegroups.models.base import UTCDateTime


async def count_hit(
    session: AsyncSession, key: str, *, now: datetime, window_seconds: int
) -> tuple[int, datetime]:
    """One more hit of ``key``: its hits in the current window (this one included) and when
    the window started. A window older than ``window_seconds`` starts again at ``now``.

    One ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: two processes counting at once
    never lose a hit (PostgreSQL locks the row, SQLite has one writer)."""
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    stale = LimitCounter.window_started_at <= now - timedelta(seconds=window_seconds)
    stmt = (
        insert(LimitCounter)
        .values(key=key, hits=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[LimitCounter.key],
            set_={
                "hits": case((stale, 1), else_=LimitCounter.hits + 1),
                "window_started_at": case(
                    (stale, literal(now, UTCDateTime())), else_=LimitCounter.window_started_at
                ),
            },
        )
        .returning(LimitCounter.hits, LimitCounter.window_started_at)
    )
    hits, started_at = (await session.execute(stmt)).one()
    return hits, started_at


async def refuse_until(session: AsyncSession, key: str, until: datetime) -> None:
    """Refuse ``key`` until ``until``, unless it is refused longer already."""
    await session.execute(
        update(LimitCounter)
        .where(
            LimitCounter.key == key,
            or_(LimitCounter.blocked_until.is_(None), LimitCounter.blocked_until < until),
        )
        .values(blocked_until=until)
    )


async def refused_until(
    session: AsyncSession, keys: Collection[str], now: datetime
) -> datetime | None:
    """Until when the longest refused of ``keys`` is refused, if any is now."""
    stmt = select(LimitCounter.blocked_until).where(
        LimitCounter.key.in_(keys), LimitCounter.blocked_until > now
    )
    untils = [until for until in (await session.execute(stmt)).scalars() if until is not None]
    return max(untils, default=None)


async def forget(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LimitCounter).where(LimitCounter.key == key))
