"""POST /api/v1/decisions: the decision's JSON shape and who may ask it."""

from __future__ import annotations

from tests.fixtures.factories import (
    add_member,
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_rate_plan,
    make_user,
    set_discount,
)

URL = "/api/v1/decisions"


async def test_an_operator_admin_gets_the_full_decision_with_trace_and_explanation(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        account = await make_account(s, world.operator)
        boss = await make_user(s, world.operator, account)
        driver = await make_user(s, world.operator, account)
        token = await make_driver_token(s, driver)
        fleet = await make_group(s, world.operator, account=account, financial_owner=boss)
        await add_member(s, fleet, driver)
        await set_discount(s, plan, fleet, percent="20")
        charger = await make_charger(s, world.operator, access_mode="private", rate_plan_id=plan.id)
        await link_scope(s, charger, fleet)
        headers = await bearer(s, world.admin)
    response = await client.post(
        URL,
        json={"charge_point_id": charger.charge_point_id, "token_uid": token.uid},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["allowed"] is True and body["reason"] == "accepted_via_group"
    assert (body["status"], body["ocpp16_status"], body["ocpp201_status"]) == ("Accepted",) * 3
    assert body["charger_id"] == charger.id and body["user_id"] == driver.id
    assert body["deciding_group_id"] == fleet.id and body["discount"] == {"percent": "20"}
    assert body["payer"] == {"kind": "financial_owner", "user_id": boss.id, "group_id": fleet.id}
    assert body["rate_plan"] == {
        "id": plan.id,
        "version": 1,
        "summary": "0.40 EUR/kWh + 1.00 EUR/session",
    }
    assert body["trace"][0]["group_id"] == fleet.id and body["trace"][0]["applies"] is True
    assert any("20 %" in line for line in body["explanation"])


async def test_the_decision_can_be_asked_for_a_user_at_a_given_instant(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        driver = await make_user(s, world.operator, world.default_account)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.post(
        URL,
        json={"charger_id": charger.id, "user_id": driver.id, "at": "2030-01-01T00:00:00Z"},
        headers=headers,
    )
    body = response.json()
    assert body["allowed"] is True and body["token_uid"] is None
    assert body["rate_plan"] is None
    assert body["explanation"][1].startswith("No rate plan applies here (D4)")
    assert body["cache_expires_at"] == "2030-01-01T00:15:00+00:00"


async def test_both_or_neither_of_charger_id_and_charge_point_id_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(URL, json={"token_uid": "X"}, headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


async def test_a_naive_instant_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.post(
        URL,
        json={"charger_id": charger.id, "token_uid": "X", "at": "2030-01-01T00:00:00"},
        headers=headers,
    )
    assert response.status_code == 422


async def test_another_operators_charger_is_not_found(uow, client) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        charger = await make_charger(s, there.operator)
        headers = await bearer(s, here.admin)
    for key in ({"charger_id": charger.id}, {"charge_point_id": charger.charge_point_id}):
        response = await client.post(URL, json={**key, "token_uid": "X"}, headers=headers)
        assert response.status_code == 404 and response.json()["code"] == "not_found", key


async def test_another_operators_token_is_unknown_here(uow, client) -> None:
    """Token uids are per operator: the same uid elsewhere names nobody here."""
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        charger = await make_charger(s, here.operator)
        stranger = await make_user(s, there.operator, there.default_account)
        token = await make_driver_token(s, stranger)
        headers = await bearer(s, here.admin)
    response = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": token.uid}, headers=headers
    )
    body = response.json()
    assert response.status_code == 200, body
    assert (body["allowed"], body["reason"], body["user_id"]) == (False, "token_unknown", None)


async def test_another_operators_user_is_not_found(uow, client) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        charger = await make_charger(s, here.operator)
        headers = await bearer(s, here.admin)
    response = await client.post(
        URL, json={"charger_id": charger.id, "user_id": there.admin.id}, headers=headers
    )
    assert response.status_code == 404


async def test_an_account_admin_learns_nothing_of_another_accounts_driver_at_its_charger(
    uow, client
) -> None:
    """Reach applies to what the answer holds: a token of a driver outside the admin's accounts
    answers exactly as an unknown token does (404), so neither the holder, its groups nor
    whether the token exists leak."""
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, account, admin_of=(account,))
        stranger = await make_user(s, world.operator, other)
        token = await make_driver_token(s, stranger)
        theirs = await make_group(s, world.operator, account=other, name="Their fleet")
        await add_member(s, theirs, stranger)
        charger = await make_charger(s, world.operator, account=account)
        await link_scope(s, charger, theirs)
        headers = await bearer(s, admin)
    known = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": token.uid}, headers=headers
    )
    unknown = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": "NO-SUCH-TOKEN"}, headers=headers
    )
    assert (known.status_code, unknown.status_code) == (404, 404)
    assert {**known.json(), "request_id": None} == {**unknown.json(), "request_id": None}
    assert stranger.id not in known.text and theirs.id not in known.text
    assert "Their fleet" not in known.text


async def test_an_operator_admin_still_hears_that_a_token_is_unknown(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": "NO-SUCH-TOKEN"}, headers=headers
    )
    assert response.status_code == 200 and response.json()["status"] == "Invalid"


async def test_an_account_admin_asks_about_its_drivers_at_any_charger(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, account, admin_of=(account,))
        driver = await make_user(s, world.operator, account)
        token = await make_driver_token(s, driver)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, admin)
    response = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": token.uid}, headers=headers
    )
    assert response.status_code == 200 and response.json()["allowed"] is True


async def test_an_account_admin_cannot_ask_about_other_accounts_drivers_elsewhere(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, account, admin_of=(account,))
        driver = await make_user(s, world.operator, other)
        token = await make_driver_token(s, driver)
        charger = await make_charger(s, world.operator, account=other)
        headers = await bearer(s, admin)
    by_token = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": token.uid}, headers=headers
    )
    by_user = await client.post(
        URL, json={"charger_id": charger.id, "user_id": driver.id}, headers=headers
    )
    assert (by_token.status_code, by_user.status_code) == (404, 404)


async def test_a_driver_asks_about_itself_by_token_or_user(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        driver = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, driver)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, driver)
    by_token = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": token.uid.upper()}, headers=headers
    )
    by_user = await client.post(
        URL, json={"charger_id": charger.id, "user_id": driver.id}, headers=headers
    )
    assert by_token.status_code == 200 and by_user.status_code == 200


async def test_a_driver_cannot_ask_about_someone_else(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        driver = await make_user(s, world.operator, world.default_account)
        other = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, other)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, driver)
    by_token = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": token.uid}, headers=headers
    )
    by_user = await client.post(
        URL, json={"charger_id": charger.id, "user_id": other.id}, headers=headers
    )
    unknown = await client.post(
        URL, json={"charger_id": charger.id, "token_uid": "NOPE"}, headers=headers
    )
    assert [r.status_code for r in (by_token, by_user, unknown)] == [404, 404, 404]
    assert by_token.json()["detail"] == unknown.json()["detail"]


async def test_asking_without_credentials_is_a_401(client) -> None:
    response = await client.post(URL, json={"charger_id": "x", "token_uid": "y"})
    assert response.status_code == 401
