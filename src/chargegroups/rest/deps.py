"""FastAPI dependencies: the transaction per request and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from chargegroups.auth import service as auth_service
from chargegroups.auth.subject import AuthSubject
from chargegroups.config import Settings
from chargegroups.database import ReadPool
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


def client_address(connection: HTTPConnection) -> str:
    """The address limits count a client by (the peer: a proxy in front must pass it on)."""
    return connection.client.host if connection.client else "unknown"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise Unauthenticated("Missing, expired or revoked credentials.")
    return credentials.credentials


# Every dependency below is ``async``: FastAPI runs a plain ``def`` one in a worker thread, a
# hop on every request. The subjects read the credentials themselves rather than through
# get_bearer_token: each level of dependencies costs every request its resolution.
async def get_bearer_token(credentials: Credentials) -> str:
    return _token(credentials)


Db = Annotated[AsyncSession, Depends(get_db, scope="function")]

#: ``openapi_extra`` of a route that authenticates with :func:`authenticated_reads`.
BEARER_SECURITY: dict[str, Any] = {"security": [{_bearer.scheme_name: []}]}


async def authenticated_reads(request: Request) -> tuple[ReadPool, AuthSubject]:
    """The read pool (``database.ReadPool``) and the caller, authenticated through it.

    For the endpoints a client calls thousands of times a second (``POST /decisions``): FastAPI
    resolving a session, the bearer scheme and the caller as dependencies costs a fifth of such
    a request, so the route takes the request and asks for both here, in one step. It declares
    ``openapi_extra=BEARER_SECURITY`` to keep its documented security.
    """
    token = _token(await _bearer(request))
    reads: ReadPool = request.app.state.read_pool
    return reads, await auth_service.authenticate(reads, token, request.app.state.caller_cache)


async def get_subject(request: Request, session: Db, credentials: Credentials) -> AuthSubject:
    cache = request.app.state.caller_cache
    return await auth_service.authenticate(session, _token(credentials), cache)


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


BearerToken = Annotated[str, Depends(get_bearer_token)]
Subject = Annotated[AuthSubject, Depends(get_subject)]
Page = Annotated[PageRequest, Depends(get_page)]
AppSettings = Annotated[Settings, Depends(get_settings)]
