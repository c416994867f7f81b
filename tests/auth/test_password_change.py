"""POST /api/v1/me/password: a user changes its own password, given the current one."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from chargegroups.models import AuditEvent
from tests.auth.test_login import login
from tests.fixtures.factories import PASSWORD, bearer, make_operator, make_user
from tests.rest.test_problems import assert_problem

NEW_PASSWORD = "a new and longer passphrase"


async def _change(client: httpx.AsyncClient, headers: dict[str, str], current: str, new: str):
    return await client.post(
        "/api/v1/me/password",
        json={"current_password": current, "new_password": new},
        headers=headers,
    )


async def test_a_driver_changes_its_password_and_signs_in_with_the_new_one(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        driver = await make_user(s, world.operator, world.default_account)
    signed_in = await login(client, world.operator.slug, driver.email, PASSWORD)
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    response = await _change(client, headers, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 204, response.text
    assert (await login(client, world.operator.slug, driver.email, PASSWORD)).status_code == 401
    assert (await login(client, world.operator.slug, driver.email, NEW_PASSWORD)).status_code == 200
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # still signed in
    async with uow() as s:
        events = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
        ).scalars()
        [event] = list(events)
    assert event.target_id == driver.id and event.actor_id == driver.id
    assert event.before is None and event.after is None  # no hash in the audit log


async def test_other_sign_ins_end_but_api_tokens_stay(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        elsewhere = await bearer(s, world.admin)
    here = await login(client, world.operator.slug, world.admin.email, PASSWORD)
    headers = {"Authorization": f"Bearer {here.json()['access_token']}"}
    api_token = await client.post("/api/v1/me/api-tokens", json={"name": "ci"}, headers=headers)
    api_headers = {"Authorization": f"Bearer {api_token.json()['token']}"}

    assert (await _change(client, headers, PASSWORD, NEW_PASSWORD)).status_code == 204

    assert_problem(await client.get("/api/v1/me", headers=elsewhere), 401, "unauthenticated")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=api_headers)).status_code == 200


async def test_a_wrong_current_password_changes_nothing(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await _change(client, headers, "not my password", NEW_PASSWORD)
    assert_problem(response, 403, "wrong_password")
    assert (
        await login(client, world.operator.slug, world.admin.email, PASSWORD)
    ).status_code == 200
    async with uow() as s:
        changed = await s.execute(
            select(AuditEvent).where(AuditEvent.action == "user.password_changed")
        )
        assert list(changed.scalars()) == []


async def test_a_short_new_password_is_refused(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    assert_problem(await _change(client, headers, PASSWORD, "short"), 422, "validation_error")


async def test_no_one_changes_a_password_without_signing_in(client) -> None:
    response = await _change(client, {}, PASSWORD, NEW_PASSWORD)
    assert_problem(response, 401, "unauthenticated")


async def test_a_password_change_touches_only_the_callers_own_user(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        other = await make_operator(s)
        headers = await bearer(s, world.admin)
    # Another operator's admin with the same password keeps it: there is no user to name.
    assert (await _change(client, headers, PASSWORD, NEW_PASSWORD)).status_code == 204
    assert (
        await login(client, other.operator.slug, other.admin.email, PASSWORD)
    ).status_code == 200
