"""The Users tab: every user by account, with groups, financial groups, blocking and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from chargegroups.account import service as accounts
from chargegroups.console.pages.pickers import account_choices
from chargegroups.console.web import (
    FORM_ERRORS,
    CurrentViewer,
    Db,
    FormState,
    Viewer,
    flash,
    page_router,
    read_form,
    redirect,
    render,
    service_errors,
    validation_errors,
)
from chargegroups.errors import NotPermitted
from chargegroups.group import repository as group_repository
from chargegroups.kit.pagination import PageRequest
from chargegroups.onboarding import service as onboarding
from chargegroups.rest.params import PathId as Id
from chargegroups.user import service
from chargegroups.user.schemas import TokenIn, TokenPatch, UserPatch

router = page_router("/users")
TOKEN_TYPES = [("rfid", "RFID card"), ("app", "App"), ("emaid", "eMAID (contract id)")]
FIELDS_BY_CODE = {"token_uid_taken": "uid", "already_member": "account_id"}


@router.get("")
async def users_tab(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    choices = await account_choices(db, viewer.subject)
    if not choices:
        raise NotPermitted("Only admins see the Users tab.")
    chosen = account_id or choices[0][0]
    members = await accounts.list_members(
        db, viewer.subject, chosen, PageRequest(limit=25, cursor=cursor), q=q or None
    )
    return render(
        request,
        "users.html",
        viewer=viewer,
        members=members,
        accounts=choices,
        account_names=dict(choices),
        show_account=True,
        account=None,
        filters={"account_id": chosen, "q": q or "", "cursor": cursor},
        active="users",
    )


async def _user_page(
    request: Request,
    db: Db,
    viewer: Viewer,
    user_id: str,
    *,
    token_form: FormState | None = None,
    transfer_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    # Listing the tokens checks the reach (R3: 404 outside it) before anything is shown.
    tokens = await service.list_tokens(db, viewer.subject, user_id)
    user = (await group_repository.users_by_id(db, [user_id]))[user_id]
    item = (await service.list_items(db, [user]))[0]
    choices = await account_choices(db, viewer.subject)
    return render(
        request,
        "user.html",
        status_code,
        viewer=viewer,
        item=item,
        user=user,
        tokens=tokens,
        account_name=dict(choices).get(user.account_id, ""),
        accounts=choices,
        token_types=TOKEN_TYPES,
        token_form=token_form or FormState(values={"type": "rfid"}),
        transfer_form=transfer_form or FormState(values={"account_id": user.account_id}),
        active="users",
    )


@router.get("/{user_id}")
async def user_detail(request: Request, db: Db, viewer: CurrentViewer, user_id: Id) -> Response:
    return await _user_page(request, db, viewer, user_id)


async def _set_blocked(
    request: Request, db: Db, viewer: Viewer, user_id: str, blocked: bool
) -> Response:
    patch = UserPatch(blocked=blocked)
    item = await service.update_user(
        db, viewer.subject, user_id, patch.model_dump(exclude_unset=True)
    )
    flash(request, f"{item.user.name} {'blocked' if blocked else 'unblocked'}.")
    return redirect(request, f"/users/{user_id}")


@router.post("/{user_id}/block")
async def block_user(request: Request, db: Db, viewer: CurrentViewer, user_id: Id) -> Response:
    return await _set_blocked(request, db, viewer, user_id, True)


@router.post("/{user_id}/unblock")
async def unblock_user(request: Request, db: Db, viewer: CurrentViewer, user_id: Id) -> Response:
    return await _set_blocked(request, db, viewer, user_id, False)


@router.post("/{user_id}/tokens")
async def add_token(request: Request, db: Db, viewer: CurrentViewer, user_id: Id) -> Response:
    values = await read_form(request)
    expires = values.get("expires_at", "")
    try:
        body = TokenIn.model_validate(
            {
                "uid": values.get("uid", ""),
                "type": values.get("type", "rfid"),
                "expires_at": f"{expires}:00Z" if len(expires) == 16 else (expires or None),
            }
        )
        await service.create_token(
            db, viewer.subject, user_id, uid=body.uid, type=body.type, expires_at=body.expires_at
        )
    except ValidationError as exc:
        problem = validation_errors(exc)
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, FIELDS_BY_CODE)
    else:
        flash(request, f"Token {body.uid} added.")
        return redirect(request, f"/users/{user_id}")
    form = FormState(values=values, errors=problem)
    return await _user_page(request, db, viewer, user_id, token_form=form, status_code=422)


@router.post("/{user_id}/tokens/{token_id}/{action}")
async def set_token_blocked(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    user_id: Id,
    token_id: Id,
    action: Annotated[str, Path(pattern="^(block|unblock)$")],
) -> Response:
    patch = TokenPatch(blocked=action == "block")
    token = await service.update_token(
        db, viewer.subject, token_id, patch.model_dump(exclude_unset=True)
    )
    flash(request, f"Token {token.uid} {action}ed.")
    return redirect(request, f"/users/{user_id}")


@router.post("/{user_id}/transfer")
async def transfer(request: Request, db: Db, viewer: CurrentViewer, user_id: Id) -> Response:
    values = await read_form(request)
    try:
        user = await onboarding.transfer(db, viewer.subject, user_id, values.get("account_id", ""))
    except FORM_ERRORS as exc:
        await db.rollback()
        form = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
        return await _user_page(request, db, viewer, user_id, transfer_form=form, status_code=422)
    flash(request, f"{user.name} transferred.")
    return redirect(request, f"/users/{user_id}")
