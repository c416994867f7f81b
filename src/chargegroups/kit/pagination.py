"""Keyset pagination: pages follow a unique, ordered key, never OFFSET over big tables."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from chargegroups.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        key = ""
    if not key:
        raise InvalidInput("The cursor is not one this service issued.", code="invalid_cursor")
    return key


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[str],
    page: PageRequest,
    *,
    descending: bool = False,
) -> Page[Any]:
    """Run ``stmt`` (selecting one entity) for one page ordered by the unique ``key``."""
    if page.cursor is not None:
        after = decode_cursor(page.cursor)
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(key.desc() if descending else key).limit(page.limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(getattr(rows[-1], key.key)) if has_more else None
    return Page(items=rows, next_cursor=next_cursor)
