from __future__ import annotations

from chargegroups import migrate


def test_models_and_migrations_do_not_drift(migrated: str) -> None:
    """`alembic check`: autogenerate against the migrated database finds nothing to do."""
    migrate.check(migrated)
