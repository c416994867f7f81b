"""CSV import of an account's members: every row checked first, then all or nothing.

A re-run of the same file changes nothing: rows whose address is already a member of the
account are reported ``unchanged``. Imported users have no password; an admin invites them to
their account (POST /accounts/{id}/invitations) to set one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor
from chargegroups.errors import InvalidInput
from chargegroups.group.service import auto_assign
from chargegroups.models import Account, DriverToken, User
from chargegroups.onboarding import repository
from chargegroups.onboarding.rules import ImportRow, RowError, parse_members_csv
from chargegroups.user.rules import new_parent_id_tag

MAX_ERRORS_IN_DETAIL = 20


@dataclass(frozen=True, slots=True)
class ImportedRow:
    line: int
    email: str
    user_id: str
    status: str  # created | unchanged


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    unchanged: int
    rows: list[ImportedRow]


async def import_members(
    session: AsyncSession, actor: Actor, account: Account, text: str
) -> ImportResult:
    rows, errors = parse_members_csv(text)
    existing_users = await repository.users_by_emails(
        session, account.operator_id, [r.email_normalized for r in rows]
    )
    taken_uids = await repository.tokens_by_uids(
        session, account.operator_id, [r.token_uid.lower() for r in rows if r.token_uid]
    )
    for row in rows:
        errors += _conflicts(row, account, existing_users.get(row.email_normalized), taken_uids)
    if errors:
        errors.sort(key=lambda e: e.line)
        raise InvalidInput(
            _summary(errors),
            code="import_invalid",
            errors=[{"line": e.line, "field": e.field, "reason": e.reason} for e in errors],
        )
    results: list[ImportedRow] = []
    for row in rows:
        user = existing_users.get(row.email_normalized)
        if user is not None:
            results.append(ImportedRow(row.line, row.email, user.id, "unchanged"))
            continue
        user = await _create(session, actor, account, row)
        await auto_assign(session, user, source="import", actor=actor)
        results.append(ImportedRow(row.line, row.email, user.id, "created"))
    created = sum(1 for r in results if r.status == "created")
    return ImportResult(created=created, unchanged=len(results) - created, rows=results)


def _conflicts(
    row: ImportRow, account: Account, user: User | None, taken_uids: dict[str, DriverToken]
) -> list[RowError]:
    errors: list[RowError] = []
    if user is not None and user.account_id != account.id:
        errors.append(RowError(row.line, "email", "already a user of another account"))
    if row.token_uid is not None:
        token = taken_uids.get(row.token_uid.lower())
        if token is not None and (user is None or token.user_id != user.id):
            errors.append(RowError(row.line, "token_uid", "already used by another user"))
    return errors


def _summary(errors: list[RowError]) -> str:
    shown = "; ".join(f"line {e.line} {e.field}: {e.reason}" for e in errors[:MAX_ERRORS_IN_DETAIL])
    more = len(errors) - MAX_ERRORS_IN_DETAIL
    suffix = f"; and {more} more" if more > 0 else ""
    return f"Nothing was imported: {len(errors)} problem(s): {shown}{suffix}."


async def _create(session: AsyncSession, actor: Actor, account: Account, row: ImportRow) -> User:
    user = User(
        operator_id=account.operator_id,
        account_id=account.id,
        email=row.email,
        email_normalized=row.email_normalized,
        name=row.name,
        password_hash=None,
        parent_id_tag=new_parent_id_tag(),
    )
    session.add(user)
    await session.flush()
    if row.token_uid is not None:
        session.add(
            DriverToken(
                operator_id=account.operator_id,
                user_id=user.id,
                uid=row.token_uid,
                uid_normalized=row.token_uid.lower(),
                type="rfid",
                expires_at=row.valid_until,
            )
        )
    await record_change(
        session,
        actor,
        "user.created",
        target_type="user",
        target_id=user.id,
        operator_id=account.operator_id,
        account_id=account.id,
        after={
            "email": row.email,
            "name": row.name,
            "source": "import",
            "token_uid": row.token_uid,
        },
    )
    return user
