"""The CLI's import verb: find the operator and account, then the same importer as the API."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import SYSTEM
from chargegroups.errors import ChargeGroupsError, NotFound
from chargegroups.onboarding import importer, repository
from chargegroups.onboarding.rules import csv_text


async def import_members_command(
    session: AsyncSession, operator_slug: str, account_ref: str, raw: bytes
) -> str:
    operator = await repository.operator_by_slug(session, operator_slug)
    if operator is None:
        raise NotFound(f"No operator {operator_slug!r}.")
    account = await repository.account_by_id_or_name(session, operator.id, account_ref)
    if account is None:
        raise NotFound(f"No account {account_ref!r} in operator {operator_slug!r}.")
    try:
        result = await importer.import_members(session, SYSTEM, account, csv_text(raw))
    except ChargeGroupsError as exc:
        for error in exc.extra.get("errors", []):
            typer.echo(f"line {error['line']}: {error['field']}: {error['reason']}", err=True)
        raise
    return f"{result.created} created, {result.unchanged} unchanged (account {account.name})"
