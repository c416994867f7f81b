from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine


async def applied_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The migrations the database records (none before the first ``db upgrade``)."""
    async with engine.connect() as conn:
        return frozenset(
            await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
        )
