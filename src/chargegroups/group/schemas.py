from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from chargegroups.group.service import MAX_BULK, NAME_MAX, GroupView, MembersAdded, MemberView
from chargegroups.kit.instants import Instant
from chargegroups.rest.schemas import ApiModel

Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
PaysAt = Literal["all_chargers", "scoped_chargers"]


class AllAccountsScope(ApiModel):
    kind: Literal["all_accounts"]


class AccountScope(ApiModel):
    kind: Literal["account"]
    account_id: Id


Scope = Annotated[AllAccountsScope | AccountScope, Field(discriminator="kind")]


def scope_account_id(scope: AllAccountsScope | AccountScope) -> str | None:
    return scope.account_id if isinstance(scope, AccountScope) else None


class GroupIn(ApiModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field(default="", max_length=2000)
    scope: Scope
    auto_assign: bool = False
    financial_owner_id: Id | None = None
    pays_at: PaysAt = "all_chargers"


class GroupPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=2000)
    scope: Scope | None = Field(
        default=None, description="Immutable (G3): restating it is allowed, changing it is 409."
    )
    auto_assign: bool | None = None
    financial_owner_id: Id | None = None
    pays_at: PaysAt | None = None


class ScopeOut(BaseModel):
    kind: Literal["all_accounts", "account"]
    account_id: str | None = None


class GroupOut(BaseModel):
    id: str
    name: str
    description: str
    scope: ScopeOut
    auto_assign: bool
    financial_owner_id: str | None
    pays_at: PaysAt
    version: int
    read_only: bool = Field(description="True when the caller may not change this group.")
    member_count: int = Field(description="Current (unexpired) memberships.")
    created_at: datetime

    @classmethod
    def of(cls, view: GroupView) -> GroupOut:
        g = view.group
        return cls(
            id=g.id,
            name=g.name,
            description=g.description,
            scope=ScopeOut(kind=g.scope_kind, account_id=g.account_id),
            auto_assign=g.auto_assign,
            financial_owner_id=g.financial_owner_id,
            pays_at=g.pays_at,
            version=g.version,
            read_only=view.read_only,
            member_count=view.member_count,
            created_at=g.created_at,
        )


class MembersIn(ApiModel):
    user_ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)
    valid_until: Instant | None = None


class MembersAddedOut(BaseModel):
    added_user_ids: list[str]
    already_member_ids: list[str] = Field(
        description="Users who were members already; their memberships were left as they are."
    )

    @classmethod
    def of(cls, result: MembersAdded) -> MembersAddedOut:
        return cls(
            added_user_ids=result.added_user_ids, already_member_ids=result.already_member_ids
        )


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    account_id: str
    source: str
    added_by_id: str | None
    created_at: datetime
    valid_until: datetime | None
    expired: bool = Field(description="Past valid_until: counts nowhere (G12).")

    @classmethod
    def of(cls, view: MemberView) -> MemberOut:
        m, u = view.membership, view.user
        return cls(
            user_id=u.id,
            email=u.email,
            name=u.name,
            account_id=u.account_id,
            source=m.source,
            added_by_id=m.added_by_id,
            created_at=m.created_at,
            valid_until=m.valid_until,
            expired=view.expired,
        )
