from __future__ import annotations

from datetime import timedelta

import httpx

from chargegroups.auth.service import issue_token
from chargegroups.kit.clock import utcnow
from tests.fixtures.factories import PASSWORD, bearer, make_operator
from tests.rest.test_problems import assert_problem


async def login(
    client: httpx.AsyncClient, operator: str, email: str, password: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password, "operator": operator}
    )


async def test_login_with_the_right_password_gives_a_working_bearer_token(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
    response = await login(client, world.operator.slug, world.admin.email.upper(), PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == world.admin.id
    assert me.json()["grants"] == [{"role": "operator_admin", "account_id": None}]


async def test_every_wrong_login_is_the_same_401_without_a_hint(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        other = await make_operator(s)
    attempts = [
        (world.operator.slug, world.admin.email, "wrong password"),
        ("no-such-operator", world.admin.email, PASSWORD),
        (world.operator.slug, "nobody@example.com", PASSWORD),
        (other.operator.slug, world.admin.email, PASSWORD),  # right user, wrong tenant
    ]
    bodies = []
    for operator, email, password in attempts:
        response = await login(client, operator, email, password)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        bodies.append((body["code"], body["detail"], body["title"]))
    assert len(set(bodies)) == 1
    assert bodies[0][0] == "invalid_credentials"


async def test_a_blocked_user_cannot_log_in_nor_use_old_tokens(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
        world.admin.blocked = True
    assert (
        await login(client, world.operator.slug, world.admin.email, PASSWORD)
    ).status_code == 401
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_expired_missing_malformed_and_revoked_tokens_answer_401(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        expired = await issue_token(
            s, world.admin, kind="login", expires_at=utcnow() - timedelta(seconds=1)
        )
        live = await bearer(s, world.admin)
    for headers in (
        {},
        {"Authorization": f"Bearer {expired.token}"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
    ):
        response = await client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "unauthenticated"
    assert (await client.post("/api/v1/auth/logout", headers=live)).status_code == 204
    assert (await client.get("/api/v1/me", headers=live)).status_code == 401


async def test_api_tokens_are_shown_once_work_and_stop_when_revoked(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    created = await client.post("/api/v1/me/api-tokens", json={"name": "ci"}, headers=headers)
    assert created.status_code == 201
    token = created.json()["token"]
    api_headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=api_headers)).status_code == 200
    listed = (await client.get("/api/v1/me/api-tokens", headers=headers)).json()
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0]
    revoke = await client.delete(f"/api/v1/me/api-tokens/{created.json()['id']}", headers=headers)
    assert revoke.status_code == 204
    assert (await client.get("/api/v1/me", headers=api_headers)).status_code == 401


async def test_tokens_are_stored_only_as_hashes(uow, client) -> None:
    from sqlalchemy import select

    from chargegroups.models import AccessToken

    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    token = headers["Authorization"].split()[1]
    async with uow() as s:
        stored = list((await s.execute(select(AccessToken.token_hash))).scalars())
    assert stored and token not in stored
    assert all(len(h) == 64 for h in stored)


async def test_an_api_token_of_another_user_cannot_be_revoked(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        other = await make_operator(s)
        mine = await bearer(s, world.admin)
        theirs = await bearer(s, other.admin)
    created = await client.post("/api/v1/me/api-tokens", json={"name": "x"}, headers=theirs)
    response = await client.delete(f"/api/v1/me/api-tokens/{created.json()['id']}", headers=mine)
    assert response.status_code == 404


async def test_a_json_login_is_told_to_send_form_fields(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
    response = await client.post(
        "/api/v1/auth/token",
        json={"username": world.admin.email, "password": PASSWORD, "operator": world.operator.slug},
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert "form fields" in response.json()["detail"]
    assert response.json()["received"] == "application/json"
    assert PASSWORD not in response.text


async def test_a_login_without_a_body_is_told_the_same(client) -> None:
    assert_problem(await client.post("/api/v1/auth/token"), 415, "unsupported_media_type")
