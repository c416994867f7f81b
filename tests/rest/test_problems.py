"""No bad input ever yields a 500; every error is a problem with a stable code."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from chargegroups.app import create_app, dispose
from tests.fixtures.factories import bearer, make_operator


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail"} <= body.keys()


async def test_malformed_json_is_a_422_problem(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        "/api/v1/operator",
        content=b'{"name": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    "payload",
    [
        {"name": 12},
        {"self_signup_enabled": "sometimes"},
        {"auth_cache_ttl_seconds": -5},
        {"name": "x" * 10_000},
        {"unknown_field": True},
        [],
    ],
)
async def test_wrong_types_oversized_and_unknown_fields_are_422(uow, client, payload) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch("/api/v1/operator", json=payload, headers=headers)
    assert_problem(response, 422, "validation_error")
    assert response.json()["errors"]


async def test_unknown_paths_and_methods_are_problems(client) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_problem(await client.put("/api/v1/auth/token"), 405, "method_not_allowed")


async def test_a_huge_body_is_refused_before_it_is_read(client) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        content=b"x" * (9 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "payload_too_large")


async def test_bad_pagination_parameters_are_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    for query in ("limit=0", "limit=501", "limit=abc", "cursor=%%%"):
        response = await client.get(f"/api/v1/audit-events?{query}", headers=headers)
        assert response.status_code == 422, query
    naive = await client.get("/api/v1/audit-events?since=2026-01-01T00:00:00", headers=headers)
    assert_problem(naive, 422, "validation_error")


async def test_an_unexpected_error_is_a_500_problem_with_request_id_and_no_trace(
    app_settings,
) -> None:
    app = create_app(app_settings)

    @app.get("/api/v1/_boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/api/v1/_boom")
    assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]
    await dispose(app)


async def test_openapi_and_docs_are_served(client) -> None:
    spec = await client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/auth/token" in spec.json()["paths"]
    assert (await client.get("/api/docs")).status_code == 200


async def test_a_change_is_committed_before_its_response_is_sent(uow, app_settings) -> None:
    """A client that reads right after a success must see the change (no commit-after-send)."""
    from sqlalchemy import select

    from chargegroups.models import Operator

    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    app = create_app(app_settings)
    seen_at_response_start: list[str] = []
    body = b'{"name": "Committed first"}'

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            async with uow() as s:
                name = (
                    await s.execute(select(Operator.name).where(Operator.id == world.operator.id))
                ).scalar_one()
            seen_at_response_start.append(name)

    scope = {
        "type": "http",
        "method": "PATCH",
        "path": "/api/v1/operator",
        "raw_path": b"/api/v1/operator",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "http_version": "1.1",
        "query_string": b"",
        "headers": [
            (b"authorization", headers["Authorization"].encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await app(scope, receive, send)
    await dispose(app)
    assert seen_at_response_start == ["Committed first"]


async def test_nul_characters_in_text_are_refused_and_change_nothing(uow, client) -> None:
    """NUL passes JSON but PostgreSQL cannot store it: refused on both databases alike."""
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        "/api/v1/operator", json={"name": "bad\u0000name"}, headers=headers
    )
    assert_problem(response, 422, "validation_error")
    after = await client.get("/api/v1/operator", headers=headers)
    assert after.json()["name"] == world.operator.name


@pytest.mark.parametrize(
    ("message", "status", "code"),
    [
        ("database is locked", 503, "database_unavailable"),
        ("no such table: nothing", 500, "internal_error"),  # our bug: never passed off as busy
    ],
)
async def test_a_busy_database_is_a_503_but_a_bad_statement_stays_a_500(
    app_settings, message: str, status: int, code: str
) -> None:
    app = create_app(app_settings)

    @app.get("/api/v1/_database")
    async def database() -> None:
        raise OperationalError("SELECT 1", None, sqlite3.OperationalError(message))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/api/v1/_database")
    assert_problem(response, status, code)
    await dispose(app)
