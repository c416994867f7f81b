"""Idempotency-Key on creating POSTs: a repeat with the same key replays the first answer.

Use it in any creating endpoint::

    @router.post("/things", status_code=201, response_model=ThingOut)
    async def create_thing(body: ThingIn, db: Db, subject: Subject, request: Request,
                           idempotency_key: IdempotencyKey = None) -> Response:
        return await idempotent(db, subject, request, idempotency_key, body,
                                lambda: service.create_thing(db, subject, body), status_code=201)

The stored answer is written in the request's transaction, so it exists exactly when the
creation does. The key is per user; the same key with another body or path is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import Conflict, InvalidInput
from chargegroups.models import IdempotencyKey as StoredKey

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a creating request safely: the same key returns the first result.",
    ),
]


def fingerprint(method: str, path: str, body: BaseModel) -> str:
    canonical = json.dumps(
        [method, path, body.model_dump(mode="json", exclude_unset=True)], sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def idempotent(
    session: AsyncSession,
    subject: AuthSubject,
    request: Request,
    key: str | None,
    body: BaseModel,
    create: Callable[[], Awaitable[BaseModel]],
    *,
    status_code: int = 201,
) -> JSONResponse:
    """Run ``create`` once per (caller, key); later calls with that key get its answer."""
    if key is None:
        created = await create()
        return JSONResponse(created.model_dump(mode="json"), status_code=status_code)
    print_ = fingerprint(request.method, request.url.path, body)
    stored = (
        await session.execute(
            select(StoredKey).where(StoredKey.user_id == subject.user_id, StoredKey.key == key)
        )
    ).scalar_one_or_none()
    if stored is not None:
        if stored.request_fingerprint != print_:
            raise InvalidInput(
                "This Idempotency-Key was used for a different request; use a new key.",
                code="idempotency_key_reused",
            )
        return JSONResponse(
            stored.response_body,
            status_code=stored.status_code,
            headers={"Idempotent-Replayed": "true"},
        )
    created = await create()
    answer = created.model_dump(mode="json")
    session.add(
        StoredKey(
            user_id=subject.user_id,
            key=key,
            request_fingerprint=print_,
            status_code=status_code,
            response_body=answer,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        # The same key raced in from a parallel request; its transaction wins.
        raise Conflict(
            "A request with this Idempotency-Key is in progress; retry it.",
            code="idempotency_key_in_use",
        ) from None
    return JSONResponse(answer, status_code=status_code)
