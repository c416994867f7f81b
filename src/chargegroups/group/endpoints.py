from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from chargegroups.errors import StaleVersion
from chargegroups.group import service
from chargegroups.group.schemas import (
    GroupIn,
    GroupOut,
    GroupPatch,
    MemberOut,
    MembersAddedOut,
    MembersIn,
    scope_account_id,
)
from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.idempotency import IdempotencyKey, idempotent
from chargegroups.rest.params import PathId
from chargegroups.rest.schemas import PROBLEM_RESPONSES, PageOut

router = APIRouter(prefix="/groups", tags=["groups"], responses=PROBLEM_RESPONSES)

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=64, description="The ETag of GET /groups/{id}."),
]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match names; anything we did not issue is stale (412)."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 18:
        raise StaleVersion("If-Match does not name a version of this group.")
    return int(tag)


@router.get("", response_model=PageOut[GroupOut])
async def list_groups(
    db: Db,
    subject: Subject,
    page: Page,
    scope: Literal["all_accounts", "account"] | None = None,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
) -> PageOut[GroupOut]:
    """The user groups within the caller's reach."""
    found = await service.list_groups(db, subject, page, scope_kind=scope, account_id=account_id)
    return PageOut(items=[GroupOut.of(v) for v in found.items], next_cursor=found.next_cursor)


@router.post("", response_model=GroupOut, status_code=status.HTTP_201_CREATED)
async def create_group(
    body: GroupIn,
    db: Db,
    subject: Subject,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new user group in an account."""

    async def create() -> GroupOut:
        view = await service.create_group(
            db,
            subject,
            name=body.name,
            description=body.description,
            account_id=scope_account_id(body.scope),
            auto_assign=body.auto_assign,
            financial_owner_id=body.financial_owner_id,
            pays_at=body.pays_at,
        )
        return GroupOut.of(view)

    return await idempotent(db, subject, request, idempotency_key, body, create)


@router.get("/{group_id}", response_model=GroupOut)
async def read_group(group_id: PathId, db: Db, subject: Subject, response: Response) -> GroupOut:
    """One group, with its version as ETag."""
    view = await service.get_group(db, subject, group_id)
    response.headers["ETag"] = etag(view.group.version)
    return GroupOut.of(view)


@router.patch("/{group_id}", response_model=GroupOut)
async def patch_group(
    group_id: PathId,
    body: GroupPatch,
    db: Db,
    subject: Subject,
    response: Response,
    if_match: IfMatch = None,
) -> GroupOut:
    """Change a group; `If-Match` with its ETag guards against lost updates."""
    changes = body.model_dump(exclude_unset=True)
    if body.scope is not None:
        changes["scope"] = {"account_id": scope_account_id(body.scope)}
    view = await service.update_group(
        db, subject, group_id, changes, if_match=parse_if_match(if_match)
    )
    response.headers["ETag"] = etag(view.group.version)
    return GroupOut.of(view)


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(
    group_id: PathId, db: Db, subject: Subject, if_match: IfMatch = None
) -> Response:
    """Delete a group (its memberships, scope links and discounts go with it)."""
    await service.delete_group(db, subject, group_id, if_match=parse_if_match(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{group_id}/members", response_model=PageOut[MemberOut])
async def list_members(
    group_id: PathId, db: Db, subject: Subject, page: Page
) -> PageOut[MemberOut]:
    """A group's members."""
    found = await service.list_members(db, subject, group_id, page)
    return PageOut(items=[MemberOut.of(v) for v in found.items], next_cursor=found.next_cursor)


@router.post("/{group_id}/members", response_model=MembersAddedOut)
async def add_members(
    group_id: PathId, body: MembersIn, db: Db, subject: Subject
) -> MembersAddedOut:
    """Add users of the group's account to the group."""
    added = await service.add_members(
        db, subject, group_id, body.user_ids, valid_until=body.valid_until
    )
    return MembersAddedOut.of(added)


@router.post("/{group_id}/members/add-all-account-members", response_model=MembersAddedOut)
async def add_all_account_members(group_id: PathId, db: Db, subject: Subject) -> MembersAddedOut:
    """Add every member of the group's account to the group."""
    return MembersAddedOut.of(await service.add_all_account_members(db, subject, group_id))


@router.delete("/{group_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(group_id: PathId, user_id: PathId, db: Db, subject: Subject) -> Response:
    """Take a user out of the group."""
    await service.remove_member(db, subject, group_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
