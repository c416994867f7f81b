from __future__ import annotations

from tests.fixtures.factories import bearer, make_account, make_operator, make_user


async def test_each_operator_admin_reads_and_changes_only_its_own_operator(uow, client) -> None:
    async with uow() as s:
        a = await make_operator(s)
        b = await make_operator(s)
        a_headers = await bearer(s, a.admin)
    read = await client.get("/api/v1/operator", headers=a_headers)
    assert read.status_code == 200 and read.json()["id"] == a.operator.id
    patched = await client.patch(
        "/api/v1/operator",
        json={"name": "Renamed", "self_signup_enabled": True, "auth_cache_ttl_seconds": 60},
        headers=a_headers,
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed"
    async with uow() as s:
        b_headers = await bearer(s, b.admin)
    other = (await client.get("/api/v1/operator", headers=b_headers)).json()
    assert other["id"] == b.operator.id and other["name"] != "Renamed"


async def test_drivers_read_the_operator_but_cannot_change_it(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        driver = await make_user(s, world.operator, account)
        headers = await bearer(s, driver)
    assert (await client.get("/api/v1/operator", headers=headers)).status_code == 200
    response = await client.patch("/api/v1/operator", json={"name": "x"}, headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "not_permitted"


async def test_the_default_rate_plan_must_be_one_of_the_operators_own(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        "/api/v1/operator", json={"default_rate_plan_id": "does-not-exist"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_rate_plan"


async def test_an_unknown_time_zone_is_refused(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        "/api/v1/operator", json={"timezone": "Mars/Olympus"}, headers=headers
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_timezone"


async def test_null_for_a_required_operator_setting_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch("/api/v1/operator", json={"timezone": None}, headers=headers)
    assert response.status_code == 422


async def test_the_maximum_session_duration_is_24_hours_until_changed(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    assert (await client.get("/api/v1/operator", headers=headers)).json()["max_session_hours"] == 24
    for hours in (0, 721):
        refused = await client.patch(
            "/api/v1/operator", json={"max_session_hours": hours}, headers=headers
        )
        assert refused.status_code == 422
    patched = await client.patch(
        "/api/v1/operator", json={"max_session_hours": 48}, headers=headers
    )
    assert (patched.status_code, patched.json()["max_session_hours"]) == (200, 48)
