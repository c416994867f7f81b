from __future__ import annotations

from pydantic import Field

from chargegroups.rest.schemas import ApiModel, OutModel


class OperatorOut(OutModel):
    id: str
    slug: str
    name: str
    default_rate_plan_id: str | None
    self_signup_enabled: bool
    auth_cache_ttl_seconds: int
    timezone: str
    max_session_hours: int


class OperatorPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    default_rate_plan_id: str | None = Field(default=None, max_length=36)
    self_signup_enabled: bool | None = None
    auth_cache_ttl_seconds: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    timezone: str | None = Field(default=None, max_length=64)
    max_session_hours: int | None = Field(
        default=None,
        ge=1,
        le=720,
        description="A session its charger never ended is over this long after its start.",
    )
