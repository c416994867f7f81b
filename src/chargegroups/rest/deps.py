"""FastAPI dependencies: the transaction per request and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth import service as auth_service
from chargegroups.auth.subject import AuthSubject
from chargegroups.config import Settings
from chargegroups.errors import Unauthenticated
from chargegroups.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from chargegroups.rest.params import CursorParam


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response, rolled back on error.

    Used through ``Db`` only: its ``scope="function"`` makes the commit run before the response
    is sent, so a client never sees a success whose change is not yet (or never) visible.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


async def get_bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hop on every request.
    if credentials is None:
        raise Unauthenticated("Missing, expired or revoked credentials.")
    return credentials.credentials


Db = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_subject(
    session: Db,
    token: Annotated[str, Depends(get_bearer_token)],
) -> AuthSubject:
    return await auth_service.authenticate(session, token)


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


BearerToken = Annotated[str, Depends(get_bearer_token)]
Subject = Annotated[AuthSubject, Depends(get_subject)]
Page = Annotated[PageRequest, Depends(get_page)]
AppSettings = Annotated[Settings, Depends(get_settings)]
