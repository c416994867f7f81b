from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from chargegroups.account import service
from chargegroups.account.schemas import AccountIn, AccountOut, AccountPatch, AdminIn, AdminOut
from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.idempotency import IdempotencyKey, idempotent
from chargegroups.rest.params import PathId
from chargegroups.rest.schemas import PROBLEM_RESPONSES, PageOut
from chargegroups.user.schemas import UserOut

router = APIRouter(prefix="/accounts", tags=["accounts"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=PageOut[AccountOut])
async def list_accounts(db: Db, subject: Subject, page: Page) -> PageOut[AccountOut]:
    """The accounts within the caller's reach."""
    found = await service.list_accounts(db, subject, page)
    return PageOut(items=[AccountOut.of(v) for v in found.items], next_cursor=found.next_cursor)


@router.post("", response_model=AccountOut, status_code=status.HTTP_201_CREATED)
async def create_account(
    body: AccountIn,
    db: Db,
    subject: Subject,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new customer account of the operator (operator admins)."""

    async def create() -> AccountOut:
        view = await service.create_account(
            db,
            subject,
            name=body.name,
            email_domains=body.email_domains,
            default_rate_plan_id=body.default_rate_plan_id,
            admins_may_create_groups=body.admins_may_create_groups,
        )
        return AccountOut.of(view)

    return await idempotent(db, subject, request, idempotency_key, body, create)


@router.get("/{account_id}", response_model=AccountOut)
async def read_account(account_id: PathId, db: Db, subject: Subject) -> AccountOut:
    """One account; one outside the caller's reach is 404."""
    return AccountOut.of(await service.get_account(db, subject, account_id))


@router.patch("/{account_id}", response_model=AccountOut)
async def patch_account(
    account_id: PathId, body: AccountPatch, db: Db, subject: Subject
) -> AccountOut:
    """Change an account's name or settings (its admins and operator admins)."""
    changes = body.model_dump(exclude_unset=True)
    return AccountOut.of(await service.update_account(db, subject, account_id, changes))


@router.get("/{account_id}/members", response_model=PageOut[UserOut])
async def list_members(
    account_id: PathId,
    db: Db,
    subject: Subject,
    page: Page,
    q: Annotated[str | None, Query(max_length=200, description="Part of name or email.")] = None,
    group_id: Annotated[str | None, Query(max_length=36)] = None,
) -> PageOut[UserOut]:
    """An account's members (users)."""
    found = await service.list_members(db, subject, account_id, page, q=q, group_id=group_id)
    return PageOut(items=[UserOut.of(i) for i in found.items], next_cursor=found.next_cursor)


@router.post("/{account_id}/admins", response_model=AdminOut, status_code=status.HTTP_201_CREATED)
async def add_admin(account_id: PathId, body: AdminIn, db: Db, subject: Subject) -> AdminOut:
    """Make a member an admin of the account."""
    return AdminOut.of(await service.add_admin(db, subject, account_id, body.user_id))


@router.delete("/{account_id}/admins/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_admin(account_id: PathId, user_id: PathId, db: Db, subject: Subject) -> Response:
    """An account admin is an admin no more (still a member)."""
    await service.remove_admin(db, subject, account_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
