"""Every error leaves the REST edge as application/problem+json with a stable ``code``."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chargegroups import errors
from chargegroups.kit.request_context import current_request_id

log = logging.getLogger("chargegroups.rest")
_SQLITE_BUSY = re.compile(r"database is (locked|busy)|database table is locked")

STATUS_BY_CATEGORY: tuple[tuple[type[errors.ChargeGroupsError], int], ...] = (
    (errors.Unauthenticated, 401),
    (errors.NotPermitted, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.StaleVersion, 412),
    (errors.InvalidInput, 422),
    (errors.UnsupportedMediaType, 415),
    (errors.RateLimited, 429),
    (errors.Unavailable, 503),
)

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "not_permitted",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://chargegroups.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": current_request_id(),
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def status_of(exc: errors.ChargeGroupsError) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(exc, category):
            return status
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ChargeGroupsError)
    async def _domain(_: Request, exc: errors.ChargeGroupsError) -> JSONResponse:
        response = problem(status_of(exc), exc.code, exc.title, exc.detail, **exc.extra)
        if (retry_after := exc.extra.get("retry_after")) is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return problem(
            422, "validation_error", "Invalid input", "The request is not valid.", errors=fields
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(exc.status_code, "http_error")
        response = problem(
            exc.status_code, code, code.replace("_", " ").capitalize(), str(exc.detail)
        )
        response.headers.update(exc.headers or {})  # a 405's Allow, say
        return response

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # A race the service could not see coming (two admins at the same instant): the
        # database kept one winner; the loser learns it conflicted.
        log.info("integrity conflict: %s", exc.orig)
        return problem(409, "conflict", "Conflict", "The change conflicts with another one.")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot store (a NUL character, a number out of range) that no
        # schema caught: the transaction is rolled back and the client told, never a 500.
        log.info("data error: %s", exc.orig)
        return problem(
            422, "invalid_value", "Invalid input", "A value in the request cannot be stored."
        )

    @app.exception_handler(OperationalError)
    async def _unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        # The database went away (a restart: the pool is discarded and reconnects) or is busy
        # (SQLite's lock timeout). Nothing was changed; the client may simply retry. SQLite
        # also calls a bad statement "operational": that is our bug, and stays a 500.
        if isinstance(exc.orig, sqlite3.OperationalError) and not _SQLITE_BUSY.search(
            str(exc.orig)
        ):
            raise exc
        log.warning("database unavailable: %s", exc.orig)
        response = problem(
            503,
            "database_unavailable",
            "Service unavailable",
            "The database is not reachable; retry.",
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        return problem(
            409, "stale_version", "Conflict", "The object was changed by someone else; retry."
        )
