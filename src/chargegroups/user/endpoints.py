from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from chargegroups.rest.deps import Db, Subject
from chargegroups.rest.idempotency import IdempotencyKey, idempotent
from chargegroups.rest.params import PathId
from chargegroups.rest.schemas import PROBLEM_RESPONSES
from chargegroups.user import service
from chargegroups.user.schemas import TokenIn, TokenOut, TokenPatch, UserOut, UserPatch

router = APIRouter(tags=["users"], responses=PROBLEM_RESPONSES)


@router.patch("/users/{user_id}", response_model=UserOut)
async def patch_user(user_id: PathId, body: UserPatch, db: Db, subject: Subject) -> UserOut:
    """Change a user: name, blocked, operator admin."""
    changes = body.model_dump(exclude_unset=True)
    return UserOut.of(await service.update_user(db, subject, user_id, changes))


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
async def list_tokens(user_id: PathId, db: Db, subject: Subject) -> list[TokenOut]:
    """A user's driver tokens (RFID cards, app ids)."""
    return [TokenOut.of(t) for t in await service.list_tokens(db, subject, user_id)]


@router.post(
    "/users/{user_id}/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED
)
async def create_token(
    user_id: PathId,
    body: TokenIn,
    db: Db,
    subject: Subject,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new driver token for a user."""

    async def create() -> TokenOut:
        token = await service.create_token(
            db, subject, user_id, uid=body.uid, type=body.type, expires_at=body.expires_at
        )
        return TokenOut.of(token)

    return await idempotent(db, subject, request, idempotency_key, body, create)


@router.patch("/tokens/{token_id}", response_model=TokenOut)
async def patch_token(token_id: PathId, body: TokenPatch, db: Db, subject: Subject) -> TokenOut:
    """Change a driver token: block it, set its validity."""
    changes = body.model_dump(exclude_unset=True)
    return TokenOut.of(await service.update_token(db, subject, token_id, changes))
