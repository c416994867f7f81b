"""REST shapes of an account's SCIM tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chargegroups.rest.schemas import ApiModel, OutModel
from chargegroups.scim.service import ScimTokenView


class ScimTokenIn(ApiModel):
    name: str = Field(
        min_length=1, max_length=200, description="Which identity provider uses it, e.g. Entra ID."
    )


class ScimTokenOut(OutModel):
    id: str
    name: str
    created_at: datetime
    created_by_id: str | None
    created_by_name: str | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, view: ScimTokenView) -> ScimTokenOut:
        token = view.record
        return cls(
            id=token.id,
            name=token.name,
            created_at=token.created_at,
            created_by_id=token.created_by_id,
            created_by_name=view.created_by_name,
            last_used_at=token.last_used_at,
        )


class ScimTokenCreatedOut(ScimTokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")
    base_url: str = Field(description="The SCIM base URL to give the identity provider.")
