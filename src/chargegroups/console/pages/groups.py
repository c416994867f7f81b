"""Operator Settings → User Groups: list, + Add Group, edit, delete, and group members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from chargegroups.account import service as accounts_service
from chargegroups.console.pages.pickers import account_choices, member_choices, owner_choices
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
from chargegroups.errors import InvalidInput, NotPermitted
from chargegroups.group import repository as group_repository
from chargegroups.group import service
from chargegroups.group.schemas import GroupIn, GroupPatch, MembersIn
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest
from chargegroups.models.group import SCOPE_ACCOUNT, SCOPE_ALL_ACCOUNTS
from chargegroups.rest.params import CursorParam as Cursor
from chargegroups.rest.params import PathId as GroupId

router = page_router("/groups")
FIELDS_BY_CODE = {
    "name_taken": "name",
    "auto_assign_global": "auto_assign",
    "invalid_financial_owner": "financial_owner_id",
    "scope_immutable": "scope_kind",
    "invalid_user_ids": "user_ids",
    "not_account_group": "user_ids",
}
FIELD_OF_LOC = {"scope": "account_id"}
PAYS_AT_CHOICES = [
    ("all_chargers", "At every charger of the network"),
    ("scoped_chargers", "Only at chargers whose scope holds this group"),
]


def _fields(problem: dict[str, str]) -> dict[str, str]:
    return {FIELD_OF_LOC.get(k, k): v for k, v in problem.items()}


def _group_values(values: dict[str, Any]) -> dict[str, Any]:
    """The form as typed: scope radio, account picker, flags (unticked boxes send nothing)."""
    scope_kind = values.get("scope_kind") or SCOPE_ACCOUNT
    return {
        "name": values.get("name", ""),
        "description": values.get("description", ""),
        "scope_kind": scope_kind,
        "account_id": values.get("account_id", "") if scope_kind == SCOPE_ACCOUNT else "",
        "auto_assign": values.get("auto_assign") == "on" and scope_kind == SCOPE_ACCOUNT,
        "financial_owner_id": values.get("financial_owner_id", ""),
        "pays_at": values.get("pays_at") or "all_chargers",
        "version": values.get("version", ""),
    }


def _scope_payload(values: dict[str, Any]) -> dict[str, Any]:
    if values["scope_kind"] == SCOPE_ALL_ACCOUNTS:
        return {"kind": SCOPE_ALL_ACCOUNTS}
    return {"kind": SCOPE_ACCOUNT, "account_id": values["account_id"]}


async def creatable_account_ids(db: Db, viewer: Viewer) -> set[str]:
    """Accounts whose admins the operator lets create groups (G2), to offer "+ Add Group";
    the service decides again on submit."""
    if viewer.is_operator_admin or not viewer.is_account_admin:
        return set()
    page = await accounts_service.list_accounts(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
    return {v.account.id for v in page.items if v.account.admins_may_create_groups}


async def _form_page(
    request: Request,
    db: Db,
    viewer: Viewer,
    *,
    form: FormState,
    group: service.GroupView | None,
    status_code: int = 200,
) -> Response:
    account_id = form.get("account_id") or None
    scope_kind = form.get("scope_kind")
    accounts = await account_choices(db, viewer.subject)
    if not viewer.is_operator_admin:
        creatable = await creatable_account_ids(db, viewer)
        accounts = [(i, name) for i, name in accounts if i in creatable]
    return render(
        request,
        "group_form.html",
        status_code,
        viewer=viewer,
        form=form,
        group=group,
        accounts=accounts,
        owners=await owner_choices(
            db, viewer.subject, account_id if scope_kind == SCOPE_ACCOUNT else None
        ),
        pays_at_choices=PAYS_AT_CHOICES,
        active="groups",
    )


@router.get("")
async def list_groups(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    scope: Annotated[str | None, Query(pattern="^(all_accounts|account)?$")] = None,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Cursor = None,
) -> Response:
    page = await service.list_groups(
        db,
        viewer.subject,
        PageRequest(limit=25, cursor=cursor),
        scope_kind=scope or None,
        account_id=account_id or None,
    )
    accounts = await account_choices(db, viewer.subject)
    creatable = await creatable_account_ids(db, viewer)
    owner_ids = [v.group.financial_owner_id for v in page.items if v.group.financial_owner_id]
    owners = await group_repository.users_by_id(db, owner_ids)
    return render(
        request,
        "groups.html",
        viewer=viewer,
        page=page,
        accounts=accounts,
        account_names=dict(accounts),
        owners=owners,
        may_add=viewer.is_operator_admin or bool(creatable),
        filters={"scope": scope or "", "account_id": account_id or "", "cursor": cursor},
        active="groups",
    )


@router.get("/new")
async def new_group(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    scope_kind: Annotated[str, Query(pattern="^(all_accounts|account)$")] = SCOPE_ACCOUNT,
    account_id: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    form = FormState(
        values={"scope_kind": scope_kind, "account_id": account_id, "pays_at": "all_chargers"}
    )
    return await _form_page(request, db, viewer, form=form, group=None)


@router.get("/scope-fields")
async def scope_fields(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    scope_kind: Annotated[str, Query(pattern="^(all_accounts|account)$")] = SCOPE_ACCOUNT,
    account_id: Annotated[str, Query(max_length=36)] = "",
    auto_assign: Annotated[str, Query(max_length=8)] = "",
    financial_owner_id: Annotated[str, Query(max_length=36)] = "",
    pays_at: Annotated[str, Query(max_length=16)] = "all_chargers",
) -> Response:
    """The part of the group form that follows the scope (HTMX swaps it in on change)."""
    values = _group_values(
        {
            "scope_kind": scope_kind,
            "account_id": account_id,
            "auto_assign": auto_assign,
            "financial_owner_id": financial_owner_id,
            "pays_at": pays_at,
        }
    )
    return render(
        request,
        "_group_scope_fields.html",
        form=FormState(values=values),
        owners=await owner_choices(
            db, viewer.subject, values["account_id"] if scope_kind == SCOPE_ACCOUNT else None
        ),
        pays_at_choices=PAYS_AT_CHOICES,
    )


@router.post("/new")
async def create_group(request: Request, db: Db, viewer: CurrentViewer) -> Response:
    values = _group_values(await read_form(request))
    try:
        body = GroupIn.model_validate(
            {
                "name": values["name"],
                "description": values["description"],
                "scope": _scope_payload(values),
                "auto_assign": values["auto_assign"],
                "financial_owner_id": values["financial_owner_id"] or None,
                "pays_at": values["pays_at"],
            }
        )
        view = await service.create_group(
            db,
            viewer.subject,
            name=body.name,
            description=body.description,
            account_id=values["account_id"] or None,
            auto_assign=body.auto_assign,
            financial_owner_id=body.financial_owner_id,
            pays_at=body.pays_at,
        )
    except ValidationError as exc:
        problem = _fields(validation_errors(exc))
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, FIELDS_BY_CODE)
    else:
        flash(request, f"Group “{view.group.name}” created.")
        return redirect(request, f"/groups/{view.group.id}")
    form = FormState(values=values, errors=problem)
    return await _form_page(request, db, viewer, form=form, group=None, status_code=422)


@router.get("/{group_id}")
async def group_detail(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    group_id: GroupId,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
) -> Response:
    view = await service.get_group(db, viewer.subject, group_id)
    return await _detail_page(request, db, viewer, view, q=q, cursor=cursor, form=FormState())


async def _detail_page(
    request: Request,
    db: Db,
    viewer: Viewer,
    view: service.GroupView,
    *,
    q: str | None,
    cursor: str | None,
    form: FormState,
    status_code: int = 200,
) -> Response:
    group = view.group
    members = await service.list_members(
        db, viewer.subject, group.id, PageRequest(limit=25, cursor=cursor)
    )
    owner = (
        (await group_repository.users_by_id(db, [group.financial_owner_id])).get(
            group.financial_owner_id
        )
        if group.financial_owner_id
        else None
    )
    accounts = dict(await account_choices(db, viewer.subject))
    # Candidates to add: the account's members (an account-level group) matching the search.
    candidates = (
        await member_choices(db, viewer.subject, group.account_id, q=q)
        if group.account_id and not view.read_only
        else []
    )
    return render(
        request,
        "group.html",
        status_code,
        viewer=viewer,
        view=view,
        group=group,
        owner=owner,
        account_name=accounts.get(group.account_id or ""),
        members=members,
        candidates=candidates,
        form=form,
        filters={"q": q or "", "cursor": cursor},
        active="groups",
    )


@router.get("/{group_id}/edit")
async def edit_group(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    view = await service.get_group(db, viewer.subject, group_id)
    g = view.group
    if view.read_only:
        raise NotPermitted(
            "This group is read-only for you: only operator admins change it.",
            code="group_read_only",
        )
    form = FormState(
        values={
            "name": g.name,
            "description": g.description,
            "scope_kind": g.scope_kind,
            "account_id": g.account_id or "",
            "auto_assign": g.auto_assign,
            "financial_owner_id": g.financial_owner_id or "",
            "pays_at": g.pays_at,
            "version": g.version,
        }
    )
    return await _form_page(request, db, viewer, form=form, group=view)


@router.post("/{group_id}/edit")
async def update_group(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    raw = await read_form(request)
    current = await service.get_group(db, viewer.subject, group_id)
    values = _group_values(
        {
            **raw,
            "scope_kind": current.group.scope_kind,
            "account_id": current.group.account_id or "",
        }
    )
    try:
        patch = GroupPatch.model_validate(
            {
                "name": values["name"],
                "description": values["description"],
                "auto_assign": values["auto_assign"],
                "financial_owner_id": values["financial_owner_id"] or None,
                "pays_at": values["pays_at"],
            }
        )
        version = int(values["version"]) if str(values["version"]).isdigit() else None
        view = await service.update_group(
            db, viewer.subject, group_id, patch.model_dump(), if_match=version
        )
    except ValidationError as exc:
        problem = _fields(validation_errors(exc))
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, FIELDS_BY_CODE)
    else:
        flash(request, f"Group “{view.group.name}” saved.")
        return redirect(request, f"/groups/{group_id}")
    form = FormState(values=values, errors=problem)
    current = await service.get_group(db, viewer.subject, group_id)
    return await _form_page(request, db, viewer, form=form, group=current, status_code=422)


@router.get("/{group_id}/delete")
async def confirm_delete(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    view = await service.get_group(db, viewer.subject, group_id)
    scope_links = await group_repository.scope_charger_ids(db, group_id)
    return render(
        request,
        "group_delete.html",
        viewer=viewer,
        view=view,
        group=view.group,
        scope_link_count=len(scope_links),
        active="groups",
    )


@router.post("/{group_id}/delete")
async def delete_group(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    values = await read_form(request)
    version = values.get("version", "")
    view = await service.get_group(db, viewer.subject, group_id)
    await service.delete_group(
        db, viewer.subject, group_id, if_match=int(version) if version.isdigit() else None
    )
    flash(request, f"Group “{view.group.name}” deleted.")
    return redirect(request, "/groups")


@router.post("/{group_id}/members")
async def add_members(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    values = await read_form(request, "user_ids")
    valid_until = values.get("valid_until") or None
    try:
        body = MembersIn.model_validate(
            {
                "user_ids": values["user_ids"],
                "valid_until": f"{valid_until}:00Z" if valid_until else None,
            }
        )
        added = await service.add_members(
            db, viewer.subject, group_id, body.user_ids, valid_until=body.valid_until
        )
    except ValidationError as exc:
        problem = validation_errors(exc)
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, FIELDS_BY_CODE)
    else:
        flash(request, f"{len(added.added_user_ids)} member(s) added.")
        return redirect(request, f"/groups/{group_id}")
    view = await service.get_group(db, viewer.subject, group_id)
    form = FormState(values=values, errors=problem)
    return await _detail_page(
        request, db, viewer, view, q=None, cursor=None, form=form, status_code=422
    )


@router.post("/{group_id}/members/remove")
async def remove_members(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    values = await read_form(request, "user_ids")
    if not values["user_ids"]:
        raise InvalidInput("Choose at least one member to remove.", code="no_user_ids")
    for user_id in values["user_ids"]:
        await service.remove_member(db, viewer.subject, group_id, user_id)
    flash(request, f"{len(values['user_ids'])} member(s) removed.")
    return redirect(request, f"/groups/{group_id}")


@router.post("/{group_id}/members/add-all")
async def add_all_members(
    request: Request, db: Db, viewer: CurrentViewer, group_id: GroupId
) -> Response:
    added = await service.add_all_account_members(db, viewer.subject, group_id)
    flash(request, f"{len(added.added_user_ids)} current account member(s) added.")
    return redirect(request, f"/groups/{group_id}")
