from __future__ import annotations

import re

import httpx

from tests.fixtures.factories import PASSWORD, make_operator


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
