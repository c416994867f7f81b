from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from chargegroups.onboarding.rules import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    redact_link_tokens,
)
from chargegroups.rest.schemas import ApiModel, OutModel

Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class OutboxEmailOut(OutModel):
    id: str
    to: str
    subject: str
    body_text: Annotated[
        str,
        AfterValidator(redact_link_tokens),
        Field(description="The body, with the tokens of its links redacted."),
    ]
    created_at: AwareDatetime
    sent_at: AwareDatetime | None
    last_error: str | None


class InvitationIn(ApiModel):
    email: str = Field(max_length=320)


class InvitationOut(OutModel):
    id: str
    account_id: str
    email: str
    expires_at: AwareDatetime
    accepted_at: AwareDatetime | None
    revoked_at: AwareDatetime | None
    created_at: AwareDatetime


class JoinLinkIn(ApiModel):
    expires_at: AwareDatetime | None = None
    max_uses: int | None = Field(default=None, ge=1, le=1_000_000)


class JoinLinkOut(OutModel):
    id: str
    account_id: str
    expires_at: AwareDatetime | None
    max_uses: int | None
    uses: int
    revoked_at: AwareDatetime | None
    created_at: AwareDatetime


class JoinLinkCreatedOut(JoinLinkOut):
    url: str = Field(description="Shown once: only its hash is stored.")


class TransferIn(ApiModel):
    account_id: str = Field(max_length=36)


class MemberMovedOut(BaseModel):
    id: str
    email: str
    name: str
    account_id: str


class SignupIn(ApiModel):
    operator: str = Field(max_length=63)
    email: str = Field(max_length=320)
    password: Password
    name: str = Field(min_length=1, max_length=200)


class VerifyEmailIn(ApiModel):
    token: str = Field(max_length=200)


class AcceptInvitationIn(ApiModel):
    token: str = Field(max_length=200)
    password: Password
    name: str = Field(min_length=1, max_length=200)


class JoinIn(ApiModel):
    email: str = Field(max_length=320)
    password: Password
    name: str = Field(min_length=1, max_length=200)


class PublicAnswerOut(BaseModel):
    """The same answer whether or not the address had an account (A7)."""

    status: Literal["accepted"] = "accepted"
    detail: str


class VerifiedOut(BaseModel):
    status: Literal["verified"] = "verified"
    account_id: str


class ImportedRowOut(BaseModel):
    line: int
    email: str
    user_id: str
    status: Literal["created", "unchanged"]


class ImportOut(BaseModel):
    created: int
    unchanged: int
    rows: list[ImportedRowOut]
