"""Accounts: their members (the Users tab of one account), invitations, join links, email
domains, settings and admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from chargegroups.account import service
from chargegroups.account.schemas import AccountIn, AccountPatch
from chargegroups.console.pages.pickers import member_choices
from chargegroups.console.web import (
    FORM_ERRORS,
    CurrentViewer,
    Db,
    FormState,
    MailerDep,
    Viewer,
    flash,
    page_router,
    read_form,
    redirect,
    render,
    service_errors,
    validation_errors,
)
from chargegroups.group import service as groups
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest
from chargegroups.onboarding import service as onboarding
from chargegroups.onboarding.schemas import InvitationIn, JoinLinkIn
from chargegroups.rate_plan import service as rate_plans
from chargegroups.rate_plan.discount_schemas import DelegationIn
from chargegroups.rest.params import CursorParam as Cursor
from chargegroups.rest.params import PathId as Id
from chargegroups.scim import service as scim
from chargegroups.scim.schemas import ScimTokenIn
from chargegroups.scim.token_endpoints import base_url

router = page_router("/accounts")
FIELDS_BY_CODE = {
    "email_exists": "email",
    "invalid_email": "email",
    "name_taken": "name",
    "domain_taken": "email_domains",
    "invalid_domain": "email_domains",
    "invalid_expiry": "expires_at",
    "unknown_user": "user_id",
    "default_account_removal": "_form",
    "unknown_rate_plan": "rate_plan_ids",
    "discount_cap_required": "max_percent",
}


def _domains(text: str) -> list[str]:
    return [d for d in text.replace(",", " ").split() if d]


def _local_datetime(value: str) -> str | None:
    """A datetime-local input (UTC, no zone) as RFC 3339, or None when empty."""
    return f"{value}:00Z" if value and len(value) == 16 else (value or None)


@router.get("")
async def list_accounts(
    request: Request, db: Db, viewer: CurrentViewer, cursor: Cursor = None
) -> Response:
    page = await service.list_accounts(db, viewer.subject, PageRequest(limit=25, cursor=cursor))
    if not viewer.is_operator_admin and len(page.items) == 1 and cursor is None:
        return redirect(request, f"/accounts/{page.items[0].account.id}")
    return render(
        request,
        "accounts.html",
        viewer=viewer,
        page=page,
        filters={"cursor": cursor},
        active="accounts",
    )


@router.post("")
async def create_account(request: Request, db: Db, viewer: CurrentViewer) -> Response:
    values = await read_form(request)
    try:
        body = AccountIn.model_validate(
            {
                "name": values.get("name", ""),
                "email_domains": _domains(values.get("email_domains", "")),
                "admins_may_create_groups": values.get("admins_may_create_groups") == "on",
            }
        )
        view = await service.create_account(
            db,
            viewer.subject,
            name=body.name,
            email_domains=body.email_domains,
            admins_may_create_groups=body.admins_may_create_groups,
        )
    except ValidationError as exc:
        problem = validation_errors(exc)
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, FIELDS_BY_CODE)
    else:
        flash(request, f"Account “{view.account.name}” created.")
        return redirect(request, f"/accounts/{view.account.id}")
    page = await service.list_accounts(db, viewer.subject, PageRequest(limit=25))
    return render(
        request,
        "accounts.html",
        422,
        viewer=viewer,
        page=page,
        filters={},
        form=FormState(values=values, errors=problem),
        active="accounts",
    )


async def _account_page(
    request: Request,
    db: Db,
    viewer: Viewer,
    account_id: str,
    *,
    q: str | None = None,
    group_id: str | None = None,
    cursor: str | None = None,
    forms: dict[str, FormState] | None = None,
    created_link: str | None = None,
    created_scim_token: str | None = None,
    status_code: int = 200,
) -> Response:
    view = await service.get_account(db, viewer.subject, account_id)
    members = await service.list_members(
        db,
        viewer.subject,
        account_id,
        PageRequest(limit=25, cursor=cursor),
        q=q or None,
        group_id=group_id or None,
    )
    may_onboard = viewer.subject.manages_account(account_id)
    invitations = (
        await onboarding.list_invitations(db, viewer.subject, account_id, PageRequest(limit=10))
        if may_onboard
        else None
    )
    links = (
        await onboarding.list_join_links(db, viewer.subject, account_id, PageRequest(limit=10))
        if may_onboard
        else None
    )
    scim_tokens = await scim.list_tokens(db, viewer.subject, account_id) if may_onboard else None
    account_groups = await groups.list_groups(
        db, viewer.subject, PageRequest(limit=MAX_LIMIT), account_id=account_id
    )
    delegation = await rate_plans.get_delegation(db, viewer.subject, account_id)
    plans = await rate_plans.list_plans(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
    forms = forms or {}
    a = view.account
    settings_form = forms.get("settings") or FormState(
        values={
            "name": a.name,
            "email_domains": " ".join(view.email_domains),
            "admins_may_create_groups": a.admins_may_create_groups,
        }
    )
    return render(
        request,
        "account.html",
        status_code,
        viewer=viewer,
        view=view,
        account=a,
        members=members,
        invitations=invitations,
        links=links,
        account_groups=[g for g in account_groups.items if g.group.account_id == account_id],
        member_options=(
            await member_choices(db, viewer.subject, account_id) if viewer.is_operator_admin else []
        ),
        invite_form=forms.get("invite", FormState()),
        link_form=forms.get("link", FormState()),
        settings_form=settings_form,
        admin_form=forms.get("admin", FormState()),
        delegation=delegation,
        plan_names={v.plan.id: v.plan.name for v in plans.items},
        delegation_form=forms.get("delegation")
        or FormState(
            values={
                "rate_plan_ids": delegation.rate_plan_ids,
                "max_percent": delegation.max_percent or "",
                "free_allowed": delegation.free_allowed,
            }
        ),
        created_link=created_link,
        scim_tokens=scim_tokens,
        scim_form=forms.get("scim", FormState()),
        scim_base_url=base_url(request.app.state.settings.public_url),
        created_scim_token=created_scim_token,
        now=datetime.now(UTC),
        filters={"q": q or "", "group_id": group_id or "", "cursor": cursor},
        active="accounts",
    )


@router.get("/{account_id}")
async def account_detail(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    account_id: Id,
    q: Annotated[str | None, Query(max_length=200)] = None,
    group_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Cursor = None,
) -> Response:
    return await _account_page(
        request, db, viewer, account_id, q=q, group_id=group_id, cursor=cursor
    )


async def _failed(
    request: Request, db: Db, viewer: Viewer, account_id: str, form: str, state: FormState
) -> Response:
    await db.rollback()
    return await _account_page(
        request, db, viewer, account_id, forms={form: state}, status_code=422
    )


@router.post("/{account_id}/invitations")
async def invite(
    request: Request, db: Db, viewer: CurrentViewer, mailer: MailerDep, account_id: Id
) -> Response:
    values = await read_form(request)
    try:
        body = InvitationIn.model_validate({"email": values.get("email", "")})
        await onboarding.invite(db, viewer.subject, mailer, account_id, body.email)
    except ValidationError as exc:
        state = FormState(values=values, errors=validation_errors(exc))
    except FORM_ERRORS as exc:
        state = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
    else:
        flash(request, f"Invitation sent to {body.email}.")
        return redirect(request, f"/accounts/{account_id}")
    return await _failed(request, db, viewer, account_id, "invite", state)


@router.post("/{account_id}/join-links")
async def create_join_link(
    request: Request, db: Db, viewer: CurrentViewer, mailer: MailerDep, account_id: Id
) -> Response:
    values = await read_form(request)
    try:
        body = JoinLinkIn.model_validate(
            {
                "expires_at": _local_datetime(values.get("expires_at", "")),
                "max_uses": values.get("max_uses") or None,
            }
        )
        created = await onboarding.create_join_link(
            db,
            viewer.subject,
            mailer,
            account_id,
            expires_at=body.expires_at,
            max_uses=body.max_uses,
        )
    except ValidationError as exc:
        state = FormState(values=values, errors=validation_errors(exc))
    except FORM_ERRORS as exc:
        state = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
    else:
        # Shown once: only the link's hash is kept.
        return await _account_page(request, db, viewer, account_id, created_link=created.url)
    return await _failed(request, db, viewer, account_id, "link", state)


@router.post("/{account_id}/join-links/{link_id}/revoke")
async def revoke_join_link(
    request: Request, db: Db, viewer: CurrentViewer, account_id: Id, link_id: Id
) -> Response:
    await onboarding.revoke_join_link(db, viewer.subject, account_id, link_id)
    flash(request, "Join link revoked.")
    return redirect(request, f"/accounts/{account_id}")


@router.post("/{account_id}/scim-tokens")
async def create_scim_token(
    request: Request, db: Db, viewer: CurrentViewer, account_id: Id
) -> Response:
    values = await read_form(request)
    try:
        body = ScimTokenIn.model_validate({"name": values.get("name", "")})
        issued = await scim.create_token(db, viewer.subject, account_id, name=body.name)
    except ValidationError as exc:
        state = FormState(values=values, errors=validation_errors(exc))
    except FORM_ERRORS as exc:
        state = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
    else:
        # Shown once: only the token's hash is kept.
        return await _account_page(request, db, viewer, account_id, created_scim_token=issued.token)
    return await _failed(request, db, viewer, account_id, "scim", state)


@router.post("/{account_id}/scim-tokens/{token_id}/revoke")
async def revoke_scim_token(
    request: Request, db: Db, viewer: CurrentViewer, account_id: Id, token_id: Id
) -> Response:
    await scim.revoke_token(db, viewer.subject, account_id, token_id)
    flash(request, "SCIM token revoked: the identity provider can no longer use it.")
    return redirect(request, f"/accounts/{account_id}")


@router.post("/{account_id}/settings")
async def update_account(
    request: Request, db: Db, viewer: CurrentViewer, account_id: Id
) -> Response:
    values = await read_form(request)
    changes: dict[str, Any] = {"name": values.get("name", "")}
    if viewer.is_operator_admin:
        changes["email_domains"] = _domains(values.get("email_domains", ""))
        changes["admins_may_create_groups"] = values.get("admins_may_create_groups") == "on"
    try:
        patch = AccountPatch.model_validate(changes)
        await service.update_account(
            db, viewer.subject, account_id, patch.model_dump(exclude_unset=True)
        )
    except ValidationError as exc:
        state = FormState(values=values, errors=validation_errors(exc))
    except FORM_ERRORS as exc:
        state = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
    else:
        flash(request, "Account saved.")
        return redirect(request, f"/accounts/{account_id}")
    return await _failed(request, db, viewer, account_id, "settings", state)


@router.post("/{account_id}/admins")
async def add_admin(request: Request, db: Db, viewer: CurrentViewer, account_id: Id) -> Response:
    values = await read_form(request)
    try:
        await service.add_admin(db, viewer.subject, account_id, values.get("user_id", ""))
    except FORM_ERRORS as exc:
        state = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
        return await _failed(request, db, viewer, account_id, "admin", state)
    flash(request, "Account admin added.")
    return redirect(request, f"/accounts/{account_id}")


@router.post("/{account_id}/admins/remove")
async def remove_admin(request: Request, db: Db, viewer: CurrentViewer, account_id: Id) -> Response:
    values = await read_form(request)
    await service.remove_admin(db, viewer.subject, account_id, values.get("user_id", ""))
    flash(request, "Account admin removed.")
    return redirect(request, f"/accounts/{account_id}")


@router.post("/{account_id}/members/{user_id}/remove")
async def remove_member(
    request: Request, db: Db, viewer: CurrentViewer, account_id: Id, user_id: Id
) -> Response:
    try:
        user = await onboarding.remove_member(db, viewer.subject, account_id, user_id)
    except FORM_ERRORS as exc:
        state = FormState(errors=service_errors(exc, FIELDS_BY_CODE))
        return await _failed(request, db, viewer, account_id, "invite", state)
    flash(request, f"{user.name} moved to the default account.")
    return redirect(request, f"/accounts/{account_id}")


@router.post("/{account_id}/delegation")
async def set_delegation(
    request: Request, db: Db, viewer: CurrentViewer, account_id: Id
) -> Response:
    values = await read_form(request, "rate_plan_ids")
    try:
        body = DelegationIn.model_validate(
            {
                "rate_plan_ids": values["rate_plan_ids"],
                "max_percent": values.get("max_percent") or None,
                "free_allowed": values.get("free_allowed") == "on",
            }
        )
        await rate_plans.set_delegation(
            db,
            viewer.subject,
            account_id,
            rate_plan_ids=body.rate_plan_ids,
            max_percent=body.max_percent,
            free_allowed=body.free_allowed,
        )
    except ValidationError as exc:
        state = FormState(values=values, errors=validation_errors(exc))
    except FORM_ERRORS as exc:
        state = FormState(values=values, errors=service_errors(exc, FIELDS_BY_CODE))
    else:
        flash(request, "Discount delegation saved.")
        return redirect(request, f"/accounts/{account_id}")
    return await _failed(request, db, viewer, account_id, "delegation", state)
