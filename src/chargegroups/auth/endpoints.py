from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status

from chargegroups.auth import service
from chargegroups.auth.schemas import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    MeOut,
    TokenOut,
)
from chargegroups.rest.deps import AppSettings, BearerToken, Db, Subject, client_address
from chargegroups.rest.schemas import PROBLEM_RESPONSES, RATE_LIMITED
from chargegroups.user import profile

router = APIRouter(tags=["auth"], responses=PROBLEM_RESPONSES)


@router.post("/auth/token", response_model=TokenOut, responses=RATE_LIMITED)
async def issue_token(
    request: Request,
    db: Db,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    operator: Annotated[str, Form(max_length=63)],
) -> TokenOut:
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
    await service.revoke_token(db, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut)
async def read_me(db: Db, subject: Subject) -> MeOut:
    return await profile.me(db, subject)


@router.get("/me/api-tokens", response_model=list[ApiTokenOut])
async def list_api_tokens(db: Db, subject: Subject) -> list[ApiTokenOut]:
    return [ApiTokenOut.model_validate(t) for t in await service.list_api_tokens(db, subject)]


@router.post("/me/api-tokens", response_model=ApiTokenCreatedOut, status_code=201)
async def create_api_token(body: ApiTokenIn, db: Db, subject: Subject) -> ApiTokenCreatedOut:
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
    await service.revoke_api_token(db, subject, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
