from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from chargegroups.account.service import AccountView
from chargegroups.models import Grant
from chargegroups.rest.schemas import ApiModel

Domain = Annotated[str, StringConstraints(min_length=1, max_length=253)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class AccountIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    email_domains: list[Domain] = Field(default_factory=list, max_length=100)
    default_rate_plan_id: Id | None = None
    admins_may_create_groups: bool = False


class AccountPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email_domains: list[Domain] | None = Field(default=None, max_length=100)
    default_rate_plan_id: Id | None = None
    admins_may_create_groups: bool | None = None


class AccountOut(BaseModel):
    id: str
    name: str
    is_default: bool
    email_domains: list[str]
    default_rate_plan_id: str | None
    admins_may_create_groups: bool
    created_at: datetime

    @classmethod
    def of(cls, view: AccountView) -> AccountOut:
        a = view.account
        return cls(
            id=a.id,
            name=a.name,
            is_default=a.is_default,
            email_domains=view.email_domains,
            default_rate_plan_id=a.default_rate_plan_id,
            admins_may_create_groups=a.admins_may_create_groups,
            created_at=a.created_at,
        )


class AdminIn(ApiModel):
    user_id: Id


class AdminOut(BaseModel):
    user_id: str
    account_id: str
    role: str

    @classmethod
    def of(cls, grant: Grant) -> AdminOut:
        return cls(user_id=grant.user_id, account_id=grant.account_id or "", role=grant.role)
