"""REST: an account's SCIM tokens (``/accounts/{id}/scim-tokens``)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from chargegroups.rest.deps import AppSettings, Db, Subject
from chargegroups.rest.params import PathId
from chargegroups.rest.schemas import PROBLEM_RESPONSES
from chargegroups.scim import service
from chargegroups.scim.schemas import ScimTokenCreatedOut, ScimTokenIn, ScimTokenOut

router = APIRouter(prefix="/accounts", tags=["scim"], responses=PROBLEM_RESPONSES)

SCIM_PATH = "/scim/v2"


def base_url(public_url: str) -> str:
    return public_url.rstrip("/") + SCIM_PATH


@router.get("/{account_id}/scim-tokens", response_model=list[ScimTokenOut])
async def list_scim_tokens(account_id: PathId, db: Db, subject: Subject) -> list[ScimTokenOut]:
    """The account's SCIM provisioning tokens: who made each, when it was last used (operator
    admins and the account's admins; the token itself is never shown again)."""
    return [ScimTokenOut.of(v) for v in await service.list_tokens(db, subject, account_id)]


@router.post(
    "/{account_id}/scim-tokens",
    response_model=ScimTokenCreatedOut,
    status_code=status.HTTP_201_CREATED,
)
async def create_scim_token(
    account_id: PathId, body: ScimTokenIn, db: Db, subject: Subject, settings: AppSettings
) -> ScimTokenCreatedOut:
    """A new SCIM token for the account's identity provider, shown once, with the SCIM base
    URL to give it; stored only as a hash."""
    issued = await service.create_token(db, subject, account_id, name=body.name)
    return ScimTokenCreatedOut(
        **ScimTokenOut.of(issued.view).model_dump(),
        token=issued.token,
        base_url=base_url(settings.public_url),
    )


@router.delete("/{account_id}/scim-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_scim_token(
    account_id: PathId, token_id: PathId, db: Db, subject: Subject
) -> Response:
    """Revoke a SCIM token: the identity provider's next request with it is refused."""
    await service.revoke_token(db, subject, account_id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
