from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from chargegroups.kit.instants import Instant
from chargegroups.models import DriverToken
from chargegroups.rest.schemas import ApiModel, OutModel
from chargegroups.user.service import UserListItem

TokenType = Literal["rfid", "app", "emaid"]


class GroupRef(BaseModel):
    id: str
    name: str


class UserOut(BaseModel):
    """API.md "Users in lists"."""

    id: str
    email: str
    name: str
    account_id: str
    blocked: bool
    groups: list[GroupRef] = Field(description="Current (unexpired) group memberships.")
    financial_groups: list[GroupRef] = Field(description="Groups this user pays for.")

    @classmethod
    def of(cls, item: UserListItem) -> UserOut:
        u = item.user
        return cls(
            id=u.id,
            email=u.email,
            name=u.name,
            account_id=u.account_id,
            blocked=u.blocked,
            groups=[GroupRef(id=g.id, name=g.name) for g in item.groups],
            financial_groups=[GroupRef(id=g.id, name=g.name) for g in item.financial_groups],
        )


class UserPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    blocked: bool | None = None


class TokenIn(ApiModel):
    uid: str = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    type: TokenType = "rfid"
    expires_at: Instant | None = None


class TokenPatch(ApiModel):
    blocked: bool | None = None
    expires_at: Instant | None = None


class TokenOut(OutModel):
    id: str
    user_id: str
    uid: str
    type: TokenType
    blocked: bool
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, token: DriverToken) -> TokenOut:
        return cls.model_validate(token)
