from __future__ import annotations

import json
import re
from base64 import b64decode, b64encode

import httpx
from itsdangerous import TimestampSigner

from chargegroups.console.web import SESSION_TOKEN_KEY
from tests.console.helpers import console_login
from tests.fixtures.factories import PASSWORD, bearer, make_operator


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "form without CSRF token"
    return match.group(1)


async def test_console_login_sets_a_session_and_shows_the_user(
    uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        world = await make_operator(s)
    page = await client.get("/console/login")
    assert page.status_code == 200
    response = await client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(page.text),
            "operator": world.operator.slug,
            "email": world.admin.email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    home = await client.get("/console/")
    assert home.status_code == 200
    assert world.admin.name in home.text


async def test_console_login_without_csrf_token_is_refused(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
    await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={"operator": world.operator.slug, "email": world.admin.email, "password": PASSWORD},
    )
    assert response.status_code == 403
    assert (await client.get("/console/")).status_code == 303


async def test_console_wrong_password_keeps_what_was_typed(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(page.text),
            "operator": world.operator.slug,
            "email": world.admin.email,
            "password": "nope",
        },
    )
    assert response.status_code == 401
    assert "Wrong operator, email or password" in response.text
    assert f'value="{world.admin.email}"' in response.text


async def test_console_pages_need_a_login(client) -> None:
    response = await client.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login")


async def test_the_session_cookie_holds_a_console_session_not_a_bearer_token(uow, client) -> None:
    """The cookie is signed, not secret: what it holds opens the console and nothing else,
    and a bearer token in a cookie (signed with the real key) opens no console session."""
    async with uow() as s:
        world = await make_operator(s)
        bearer_token = (await bearer(s, world.admin))["Authorization"].removeprefix("Bearer ")
    await console_login(client, world.operator, world.admin)
    cookie = client.cookies["chargegroups_session"]
    held = json.loads(b64decode(cookie.split(".")[0]))[SESSION_TOKEN_KEY]
    assert held.startswith("cg_cs_")
    as_bearer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {held}"})
    assert as_bearer.status_code == 401

    signed = TimestampSigner("test-secret").sign(
        b64encode(json.dumps({SESSION_TOKEN_KEY: bearer_token}).encode())
    )
    client.cookies.set("chargegroups_session", signed.decode())
    page = await client.get("/console/")
    assert page.status_code in (302, 303, 307)
