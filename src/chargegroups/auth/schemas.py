from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chargegroups.kit.instants import Instant
from chargegroups.onboarding.rules import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from chargegroups.rest.schemas import ApiModel, OutModel


class PasswordChangeIn(ApiModel):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class TokenOut(OutModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int | None


class ApiTokenIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    expires_at: Instant | None = None


class ApiTokenOut(OutModel):
    id: str
    name: str | None
    expires_at: datetime | None
    created_at: datetime


class ApiTokenCreatedOut(ApiTokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")


class GrantOut(OutModel):
    role: str
    account_id: str | None


class GroupRefOut(OutModel):
    id: str
    name: str


class PaidByOut(OutModel):
    group_id: str
    group_name: str
    financial_owner_id: str
    pays_at: str


class MeOut(OutModel):
    id: str
    email: str
    name: str
    operator_id: str
    account_id: str
    account_name: str
    email_verified: bool
    grants: list[GrantOut]
    groups: list[GroupRefOut]
    paid_by: list[PaidByOut]
