"""The SCIM 2.0 edge at ``/scim/v2`` (RFC 7644): requests parsed and answers built with
scim2-models, every change made by the services, every error a SCIM Error.

The bearer token names the account; nothing outside it is ever read or written (R3).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    Group,
    ListResponse,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimFilter,
    SearchRequest,
)
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from chargegroups import errors
from chargegroups.models import User as Member
from chargegroups.models import UserGroup
from chargegroups.rest.deps import Db
from chargegroups.rest.middleware import MAX_BODY_BYTES
from chargegroups.scim import filters, resources, service
from chargegroups.scim.resources import POLICY, ScimUser, version_of
from chargegroups.scim.service import Provisioner
from chargegroups.scim.token_endpoints import SCIM_PATH, base_url

log = logging.getLogger("chargegroups.scim")
MEDIA_TYPE = "application/scim+json"

# SCIM's detail keyword (RFC 7644 §3.12) of the services' codes that have one.
SCIM_TYPE_BY_CODE = {
    "email_exists": "uniqueness",
    "name_taken": "uniqueness",
    "email_immutable": "mutability",
}
STATUS_BY_CATEGORY: tuple[tuple[type[errors.ChargeGroupsError], int, str | None], ...] = (
    (errors.Unauthenticated, 401, None),
    (errors.NotPermitted, 403, None),
    (errors.NotFound, 404, None),
    (errors.Conflict, 409, None),
    (errors.StaleVersion, 412, None),
    (errors.InvalidInput, 400, "invalidValue"),
    (errors.RateLimited, 429, "tooMany"),
)


# --- answers ----------------------------------------------------------------------------


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error(status: int, detail: str, scim_type: str | None = None) -> Response:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return _json(body, status, headers)


async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
    """The 413 of a SCIM request whose body is over the application's limit."""
    detail = f"Request bodies are limited to {MAX_BODY_BYTES} bytes."
    await error(413, detail)(scope, receive, send)


def _domain_error(exc: errors.ChargeGroupsError) -> Response:
    for category, status, scim_type in STATUS_BY_CATEGORY:
        if isinstance(exc, category):
            return error(status, exc.detail, SCIM_TYPE_BY_CODE.get(exc.code, scim_type))
    return error(400, exc.detail, "invalidValue")


def _resource(
    resource: ScimUser | Group,
    ctx: Context,
    params: ResponseParameters[Any] | None = None,
    status: int = 200,
) -> Response:
    headers = {"ETag": version_of(resource)}
    if status == 201 and resource.meta and resource.meta.location:
        headers["Location"] = resource.meta.location
    body = resource.model_dump(scim_ctx=ctx, response_parameters=params)
    return _json(body, status, headers)


# --- requests ---------------------------------------------------------------------------


async def _caller(request: Request, db: Db) -> Provisioner:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise errors.Unauthenticated("A SCIM token is needed (Authorization: Bearer …).")
    return await service.authenticate(db, token.strip())


def _base(request: Request) -> str:
    return base_url(request.app.state.settings.public_url)


def _response_parameters(model: Any, request: Request) -> ResponseParameters[Any]:
    query = request.query_params
    return ResponseParameters[model].model_validate(
        {
            "attributes": query.get("attributes"),
            "excludedAttributes": query.get("excludedAttributes"),
        }
    )


def _search_of_query(model: Any, request: Request) -> SearchRequest[Any]:
    query = request.query_params
    payload = {
        key: query[key]
        for key in ("filter", "attributes", "excludedAttributes", "startIndex", "count")
        if key in query
    }
    return _search(model, payload)


def _search(model: Any, payload: Any) -> SearchRequest[Any]:
    if any(key in (payload or {}) for key in ("sortBy", "sortOrder")):
        raise SCIMException.from_error(
            Error(status=400, scim_type="invalidValue", detail="Sorting is not supported.")
        )
    return SearchRequest[model].model_validate(payload, scim_ctx=Context.SEARCH_REQUEST)


def _if_match(request: Request, current: str) -> None:
    wanted = request.headers.get("if-match")
    if wanted is not None and wanted.strip() != "*" and current not in _etags(wanted):
        raise SCIMException.from_error(
            Error(status=412, detail="The resource changed since that version; read it again.")
        )


def _etags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",")]


def _not_modified(request: Request, current: str) -> bool:
    wanted = request.headers.get("if-none-match")
    return wanted is not None and (wanted.strip() == "*" or current in _etags(wanted))


def _page(search: SearchRequest[Any]) -> tuple[int, int]:
    start = max(search.start_index or 1, 1)
    count = min(
        max(search.count if search.count is not None else resources.MAX_RESULTS, 0),
        resources.MAX_RESULTS,
    )
    return start, count


# --- the application --------------------------------------------------------------------


def create_app() -> FastAPI:
    app = FastAPI(title="chargegroups SCIM", openapi_url=None, docs_url=None, redoc_url=None)

    @app.exception_handler(errors.ChargeGroupsError)
    async def _domain(_: Request, exc: errors.ChargeGroupsError) -> Response:
        return _domain_error(exc)

    @app.exception_handler(SCIMException)
    async def _scim(_: Request, exc: SCIMException) -> Response:
        err = exc.to_error()
        return error(err.status or 400, err.detail or "Invalid request.", err.scim_type)

    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: ValidationError) -> Response:
        first = Error.from_validation_errors(exc)[0]
        return error(first.status or 400, first.detail or "Invalid request.", first.scim_type)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> Response:
        return error(400, "The request is not valid.", "invalidSyntax")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> Response:
        # Two provisioning requests raced for the same address or name: one won.
        log.info("integrity conflict: %s", exc.orig)
        return error(409, "The change conflicts with another one.", "uniqueness")

    _discovery(app)
    _users(app)
    _groups(app)
    _root_search(app)
    return app


def mount(app: FastAPI) -> None:
    """Serve SCIM under ``/scim/v2`` with the application's database and settings."""
    scim = create_app()
    scim.state.sessionmaker = app.state.sessionmaker
    scim.state.settings = app.state.settings
    app.mount(SCIM_PATH, scim)


def _discovery(app: FastAPI) -> None:
    @app.get("/ServiceProviderConfig")
    async def service_provider_config(request: Request, db: Db) -> Response:
        await _caller(request, db)
        config = resources.service_provider_config()
        return _json(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))

    def listed(items: list[Schema] | list[ResourceType], kind: Any) -> Response:
        answer = ListResponse[kind](
            total_results=len(items), start_index=1, items_per_page=len(items), resources=items
        )
        return _json(answer.model_dump(scim_ctx=Context.SEARCH_RESPONSE))

    @app.get("/ResourceTypes")
    async def resource_types(request: Request, db: Db) -> Response:
        await _caller(request, db)
        return listed(resources.resource_types(), ResourceType)

    @app.get("/ResourceTypes/{name}")
    async def resource_type(name: str, request: Request, db: Db) -> Response:
        await _caller(request, db)
        for found in resources.resource_types():
            if found.id == name:
                return _json(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
        raise errors.NotFound(f"No resource type {name!r}.")

    @app.get("/Schemas")
    async def schemas(request: Request, db: Db) -> Response:
        await _caller(request, db)
        return listed(resources.schemas(), Schema)

    @app.get("/Schemas/{schema_id}")
    async def schema(schema_id: str, request: Request, db: Db) -> Response:
        await _caller(request, db)
        for found in resources.schemas():
            if found.id == schema_id:
                return _json(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
        raise errors.NotFound(f"No schema {schema_id!r}.")


# --- Users ------------------------------------------------------------------------------


async def _find_users(
    db: Db,
    caller: Provisioner,
    scim_filter: ScimFilter[Any] | None,
    *,
    offset: int,
    count: int,
    base: str,
) -> tuple[int, list[ScimUser]]:
    condition = filters.condition(scim_filter, resources.USER_TARGETS)
    total, found = await service.list_users(db, caller, condition, offset=offset, count=count)
    groups = await service.groups_of(db, caller, [u.id for u in found])
    return total, [resources.user_resource(u, groups[u.id], base) for u in found]


async def _list(
    request: Request,
    db: Db,
    query: SearchRequest[Any],
    find: Callable[..., Awaitable[tuple[int, list[Any]]]],
    resource_type: type[Any],
) -> Response:
    """A ListResponse of the resources ``find`` finds for the caller (a page of them)."""
    caller = await _caller(request, db)
    start, count = _page(query)
    total, found = await find(
        db, caller, query.filter, offset=start - 1, count=count, base=_base(request)
    )
    answer = ListResponse[resource_type](  # type: ignore[valid-type]
        total_results=total, start_index=start, items_per_page=len(found), resources=found
    )
    return _json(answer.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query))


def _users(app: FastAPI) -> None:
    async def view(db: Db, caller: Provisioner, user: Member, base: str) -> ScimUser:
        groups = await service.groups_of(db, caller, [user.id])
        return resources.user_resource(user, groups[user.id], base)

    async def search(request: Request, db: Db, query: SearchRequest[Any]) -> Response:
        return await _list(request, db, query, _find_users, ScimUser)

    @app.get("/Users")
    async def list_users(request: Request, db: Db) -> Response:
        return await search(request, db, _search_of_query(ScimUser, request))

    @app.post("/Users/.search")
    async def search_users(request: Request, db: Db) -> Response:
        await _caller(request, db)
        body = SearchRequest[ScimUser].model_validate_json(
            await request.body(), scim_ctx=Context.SEARCH_REQUEST
        )
        return await search(request, db, body)

    @app.get("/Users/{user_id}")
    async def read_user(user_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(ScimUser, request)
        resource = await view(
            db, caller, await service.find_user(db, caller, user_id), _base(request)
        )
        if _not_modified(request, version_of(resource)):
            return Response(status_code=304, headers={"ETag": version_of(resource)})
        return _resource(resource, Context.RESOURCE_QUERY_RESPONSE, params)

    def wanted(payload: ScimUser) -> dict[str, Any]:
        address = resources.member_address(payload)
        if not address:
            raise SCIMException.from_error(
                Error(status=400, scim_type="invalidValue", detail="userName is required.")
            )
        return {
            "address": address,
            "name": resources.member_name(payload, address),
            "external_id": payload.external_id,
            "active": payload.active is not False,
        }

    @app.post("/Users")
    async def create_user(request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(ScimUser, request)
        payload = ScimUser.model_validate_json(
            await request.body(), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
        )
        user = await service.create_user(db, caller, **wanted(payload))
        resource = await view(db, caller, user, _base(request))
        return _resource(resource, Context.RESOURCE_CREATION_RESPONSE, params, status=201)

    @app.put("/Users/{user_id}")
    async def replace_user(user_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(ScimUser, request)
        user = await service.find_user(db, caller, user_id)
        _if_match(request, version_of(await view(db, caller, user, _base(request))))
        payload = ScimUser.model_validate_json(
            await request.body(), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        await service.update_user(db, caller, user, **wanted(payload))
        resource = await view(db, caller, user, _base(request))
        return _resource(resource, Context.RESOURCE_REPLACEMENT_RESPONSE, params)

    @app.patch("/Users/{user_id}")
    async def patch_user(user_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(ScimUser, request)
        user = await service.find_user(db, caller, user_id)
        resource = await view(db, caller, user, _base(request))
        _if_match(request, version_of(resource))
        patch = PatchOp[ScimUser].model_validate_json(
            await request.body(), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        before = resource.model_copy(deep=True)
        patch.patch(resource, scim_policy=POLICY)
        await service.update_user(db, caller, user, **wanted(_renamed(before, resource)))
        resource = await view(db, caller, user, _base(request))
        return _resource(resource, Context.RESOURCE_PATCH_RESPONSE, params)

    @app.delete("/Users/{user_id}")
    async def delete_user(user_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        user = await service.find_user(db, caller, user_id)
        _if_match(request, version_of(await view(db, caller, user, _base(request))))
        await service.delete_user(db, caller, user)
        return Response(status_code=204)


def _renamed(before: ScimUser, after: ScimUser) -> ScimUser:
    """A patch of ``name`` alone renames: the parts it wrote win over the displayName and
    name.formatted that mirrored the old name."""
    if after.display_name == before.display_name and after.name != before.name:
        after.display_name = None
        unchanged = before.name.formatted if before.name else None
        if after.name is not None and after.name.formatted == unchanged:
            after.name.formatted = None
    return after


# --- Groups -----------------------------------------------------------------------------


async def _find_groups(
    db: Db,
    caller: Provisioner,
    scim_filter: ScimFilter[Any] | None,
    *,
    offset: int,
    count: int,
    base: str,
) -> tuple[int, list[Group]]:
    condition = filters.condition(scim_filter, resources.GROUP_TARGETS)
    total, found = await service.list_groups(db, caller, condition, offset=offset, count=count)
    members = await service.members_of(db, [g.id for g in found])
    return total, [resources.group_resource(g, members[g.id], base) for g in found]


def _groups(app: FastAPI) -> None:
    async def view(db: Db, group: UserGroup, base: str) -> Group:
        members = await service.members_of(db, [group.id])
        return resources.group_resource(group, members[group.id], base)

    async def search(request: Request, db: Db, query: SearchRequest[Any]) -> Response:
        return await _list(request, db, query, _find_groups, Group)

    @app.get("/Groups")
    async def list_groups(request: Request, db: Db) -> Response:
        return await search(request, db, _search_of_query(Group, request))

    @app.post("/Groups/.search")
    async def search_groups(request: Request, db: Db) -> Response:
        await _caller(request, db)
        body = SearchRequest[Group].model_validate_json(
            await request.body(), scim_ctx=Context.SEARCH_REQUEST
        )
        return await search(request, db, body)

    @app.get("/Groups/{group_id}")
    async def read_group(group_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(Group, request)
        resource = await view(db, await service.find_group(db, caller, group_id), _base(request))
        if _not_modified(request, version_of(resource)):
            return Response(status_code=304, headers={"ETag": version_of(resource)})
        return _resource(resource, Context.RESOURCE_QUERY_RESPONSE, params)

    def wanted(payload: Group) -> dict[str, Any]:
        if not payload.display_name:
            raise SCIMException.from_error(
                Error(status=400, scim_type="invalidValue", detail="displayName is required.")
            )
        return {
            "name": payload.display_name,
            "external_id": payload.external_id,
            "member_ids": [m.value for m in payload.members or [] if m.value],
        }

    @app.post("/Groups")
    async def create_group(request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(Group, request)
        payload = Group.model_validate_json(
            await request.body(), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
        )
        group = await service.create_group(db, caller, **wanted(payload))
        resource = await view(db, group, _base(request))
        return _resource(resource, Context.RESOURCE_CREATION_RESPONSE, params, status=201)

    @app.put("/Groups/{group_id}")
    async def replace_group(group_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(Group, request)
        group = await service.find_group(db, caller, group_id)
        _if_match(request, version_of(await view(db, group, _base(request))))
        payload = Group.model_validate_json(
            await request.body(), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        await service.update_group(db, caller, group, **wanted(payload))
        resource = await view(db, group, _base(request))
        return _resource(resource, Context.RESOURCE_REPLACEMENT_RESPONSE, params)

    @app.patch("/Groups/{group_id}")
    async def patch_group(group_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        params = _response_parameters(Group, request)
        group = await service.find_group(db, caller, group_id)
        resource = await view(db, group, _base(request))
        _if_match(request, version_of(resource))
        patch = PatchOp[Group].model_validate_json(
            await request.body(), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        patch.patch(resource, scim_policy=POLICY)
        await service.update_group(db, caller, group, **wanted(resource))
        resource = await view(db, group, _base(request))
        return _resource(resource, Context.RESOURCE_PATCH_RESPONSE, params)

    @app.delete("/Groups/{group_id}")
    async def delete_group(group_id: str, request: Request, db: Db) -> Response:
        caller = await _caller(request, db)
        group = await service.find_group(db, caller, group_id)
        _if_match(request, version_of(await view(db, group, _base(request))))
        await service.delete_group(db, caller, group)
        return Response(status_code=204)


# --- every resource type at once (RFC 7644 §3.4.3) -------------------------------------------


def _root_search(app: FastAPI) -> None:
    @app.post("/.search")
    async def search_all(request: Request, db: Db) -> Response:
        """Users first, then groups, paged as one list; the filter applies to each type with
        what it names of it (an attribute a type lacks matches none of its resources)."""
        caller = await _caller(request, db)
        query = SearchRequest[ScimUser | Group].model_validate_json(
            await request.body(), scim_ctx=Context.SEARCH_REQUEST
        )
        text = None if query.filter is None else str(query.filter)
        start, count = _page(query)
        base = _base(request)
        user_total, users = await _find_users(
            db,
            caller,
            None if text is None else ScimFilter[ScimUser](text),
            offset=start - 1,
            count=count,
            base=base,
        )
        group_total, groups = await _find_groups(
            db,
            caller,
            None if text is None else ScimFilter[Group](text),
            offset=max(start - 1 - user_total, 0),
            count=count - len(users),
            base=base,
        )
        found: list[Any] = [*users, *groups]
        answer = ListResponse[ScimUser | Group](
            total_results=user_total + group_total,
            start_index=start,
            items_per_page=len(found),
            resources=found,
        )
        return _json(answer.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query))
