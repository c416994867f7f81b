"""Is this process ready for traffic? Its database answers, is migrated, and changes reach it."""

from __future__ import annotations

import asyncio
import hmac
from typing import Protocol

from pydantic import SecretStr
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from chargegroups.errors import Unauthenticated, Unavailable
from chargegroups.health import repository

# A probe waits this long for the database before calling the process not ready.
DATABASE_TIMEOUT_SECONDS = 3.0


class ChangeListener(Protocol):
    """What readiness needs of the listener that brings other processes' changes (PostgreSQL)."""

    @property
    def listening(self) -> bool: ...


async def check_ready(
    engine: AsyncEngine, heads: frozenset[str], listener: ChangeListener | None
) -> None:
    """Raises ``Unavailable`` naming the first thing not ready."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            applied = await repository.applied_revisions(engine)
    except (DBAPIError, OSError, TimeoutError):
        raise Unavailable("The database is not reachable.", code="database_unavailable") from None
    if applied != heads:
        raise Unavailable(
            "The database is not migrated to this version's schema: run `chargegroups db upgrade`.",
            code="migrations_pending",
            applied=sorted(applied),
            expected=sorted(heads),
        )
    if listener is not None and not listener.listening:
        raise Unavailable(
            "The listener for other nodes' changes is not connected.",
            code="change_listener_disconnected",
        )


def check_metrics_access(token: SecretStr | None, presented: str | None) -> None:
    """With a metrics token set, only its bearer reads the metrics (compared in constant time:
    the answer's timing tells nothing of the token)."""
    if token is None:
        return
    expected = token.get_secret_value().encode()
    if presented is None or not hmac.compare_digest(presented.encode(), expected):
        raise Unauthenticated("GET /metrics needs the metrics token as a bearer token.")
