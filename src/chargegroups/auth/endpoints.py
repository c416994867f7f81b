from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status

from chargegroups.auth import service
from chargegroups.auth.schemas import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    MeOut,
    PasswordChangeIn,
    TokenOut,
)
from chargegroups.errors import UnsupportedMediaType
from chargegroups.rest.deps import AppSettings, BearerToken, Db, Subject, client_address
from chargegroups.rest.schemas import PROBLEM_RESPONSES, RATE_LIMITED
from chargegroups.user import profile

router = APIRouter(tags=["auth"], responses=PROBLEM_RESPONSES)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def form_fields_only(request: Request) -> None:
    """Runs before the form is validated: a JSON body would otherwise be answered "field
    required" for the very fields it sent."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in _FORM_TYPES:
        raise UnsupportedMediaType(
            "Send username, password and operator as form fields "
            "(application/x-www-form-urlencoded), as OAuth2's password flow does; not JSON.",
            received=media_type or None,
        )


@router.post(
    "/auth/token",
    response_model=TokenOut,
    dependencies=[Depends(form_fields_only)],
    responses={415: PROBLEM_RESPONSES[422], **RATE_LIMITED},
)
async def issue_token(
    request: Request,
    db: Db,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    operator: Annotated[str, Form(max_length=63)],
) -> TokenOut:
    """Sign in: form fields `username` (email), `password` and `operator` (its slug), as
    application/x-www-form-urlencoded (OAuth2 password style); answers a bearer token for
    the API. A JSON body is refused with 415 `unsupported_media_type`."""
    issued = await service.login(
        db,
        request.app.state.read_pool,
        request.app.state.failure_limits,
        operator_slug=operator,
        email=username,
        password=password,
        client_address=client_address(request),
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return TokenOut(access_token=issued.token, expires_in=settings.access_token_ttl_seconds)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(db: Db, subject: Subject, token: BearerToken) -> Response:
    """Revoke the bearer token this request carries."""
    await service.revoke_token(db, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut)
async def read_me(db: Db, subject: Subject) -> MeOut:
    """The caller: its user, operator, accounts and what it administers."""
    return await profile.me(db, subject)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChangeIn, db: Db, subject: Subject, token: BearerToken
) -> Response:
    """Change the caller's own password, given the current one (403 `wrong_password` if it is
    not right). The caller's other sign-ins end; this token and the API tokens keep working."""
    await service.change_password(
        db,
        subject,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_token=token,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/api-tokens", response_model=list[ApiTokenOut])
async def list_api_tokens(db: Db, subject: Subject) -> list[ApiTokenOut]:
    """The caller's long-lived API tokens (never their secrets)."""
    return [ApiTokenOut.model_validate(t) for t in await service.list_api_tokens(db, subject)]


@router.post("/me/api-tokens", response_model=ApiTokenCreatedOut, status_code=201)
async def create_api_token(body: ApiTokenIn, db: Db, subject: Subject) -> ApiTokenCreatedOut:
    """A new long-lived API token for the caller; its secret is shown in this answer only."""
    issued = await service.create_api_token(db, subject, name=body.name, expires_at=body.expires_at)
    return ApiTokenCreatedOut(
        id=issued.record.id,
        name=issued.record.name,
        expires_at=issued.record.expires_at,
        created_at=issued.record.created_at,
        token=issued.token,
    )


@router.delete("/me/api-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_token(token_id: str, db: Db, subject: Subject) -> Response:
    """Revoke one of the caller's API tokens."""
    await service.revoke_api_token(db, subject, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
