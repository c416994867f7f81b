"""Rate plans over REST: versioning, reach, OCPI export."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from chargegroups.models import AuditEvent, RatePlanVersion
from tests.fixtures.factories import bearer, make_account, make_operator, make_user
from tests.rate_plan.test_ocpi import assert_valid_ocpi_tariff

URL = "/api/v1/rate-plans"
DEPOT = {
    "name": "Depot",
    "currency": "EUR",
    "vat_percent": "21",
    "energy": {"kind": "fixed", "price_per_kwh": "0.40"},
    "connection_fee": "1.00",
    "idle_fee": {"per_minute": "0.10", "grace_minutes": 15},
}


async def _created(client, headers) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = await client.post(URL, json=DEPOT, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_operator_admin_creates_a_plan_as_version_1(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    body = await _created(client, headers)
    assert body["version"] == 1 and body["name"] == "Depot"
    assert body["energy"] == {"kind": "fixed", "price_per_kwh": "0.40", "time_of_day": []}
    assert body["summary"].startswith("0.40 EUR/kWh + 1.00 EUR/session")
    async with uow() as s:
        event = (
            await s.execute(select(AuditEvent).where(AuditEvent.target_id == body["id"]))
        ).scalar_one()
    assert event.action == "rate_plan.created" and event.actor_id == world.admin.id


async def test_a_patch_makes_version_2_and_version_1_stays_readable(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    plan = await _created(client, headers)
    patched = await client.patch(
        f"{URL}/{plan['id']}",
        json={"energy": {"kind": "fixed", "price_per_kwh": "0.35"}, "connection_fee": None},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2 and patched.json()["connection_fee"] is None
    current = (await client.get(f"{URL}/{plan['id']}", headers=headers)).json()
    first = (await client.get(f"{URL}/{plan['id']}?version=1", headers=headers)).json()
    assert current["energy"]["price_per_kwh"] == "0.35" and current["version"] == 2
    assert first["energy"]["price_per_kwh"] == "0.40" and first["connection_fee"] == "1.00"
    assert first["idle_fee"] == current["idle_fee"]


async def test_a_name_change_is_a_new_version_too(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    plan = await _created(client, headers)
    patched = await client.patch(f"{URL}/{plan['id']}", json={"name": "Yard"}, headers=headers)
    assert patched.json()["version"] == 2 and patched.json()["name"] == "Yard"
    async with uow() as s:
        versions = (
            await s.execute(
                select(RatePlanVersion.version).where(RatePlanVersion.rate_plan_id == plan["id"])
            )
        ).scalars()
        assert sorted(versions) == [1, 2]


async def test_a_missing_version_is_not_found(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    plan = await _created(client, headers)
    assert (await client.get(f"{URL}/{plan['id']}?version=7", headers=headers)).status_code == 404


async def test_removing_a_required_term_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    plan = await _created(client, headers)
    response = await client.patch(f"{URL}/{plan['id']}", json={"energy": None}, headers=headers)
    assert response.status_code == 422


async def test_a_float_price_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    bad = {**DEPOT, "energy": {"kind": "fixed", "price_per_kwh": 0.4}}
    assert (await client.post(URL, json=bad, headers=headers)).status_code == 422


async def test_plan_names_are_unique_per_operator_case_insensitively(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    await _created(client, headers)
    again = await client.post(URL, json={**DEPOT, "name": "DEPOT"}, headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "name_taken"


async def test_drivers_read_plans_but_cannot_write_them(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        driver = await make_user(s, world.operator, account, admin_of=(account,))
        admin_headers = await bearer(s, world.admin)
        headers = await bearer(s, driver)
    plan = await _created(client, admin_headers)
    listed = (await client.get(URL, headers=headers)).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]]
    assert (await client.post(URL, json=DEPOT, headers=headers)).status_code == 403
    patched = await client.patch(f"{URL}/{plan['id']}", json={"name": "x"}, headers=headers)
    assert patched.status_code == 403


async def test_another_operators_plan_is_not_found(uow, client) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        here_headers = await bearer(s, here.admin)
        there_headers = await bearer(s, there.admin)
    plan = await _created(client, there_headers)
    for response in (
        await client.get(f"{URL}/{plan['id']}", headers=here_headers),
        await client.patch(f"{URL}/{plan['id']}", json={"name": "x"}, headers=here_headers),
        await client.get(f"{URL}/{plan['id']}/ocpi", headers=here_headers),
    ):
        assert response.status_code == 404
    assert (await client.get(URL, headers=here_headers)).json()["items"] == []


async def test_the_ocpi_export_is_a_valid_tariff_of_the_current_version(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        world.operator.ocpi_country_code = "DE"
        world.operator.ocpi_party_id = "ABC"
        headers = await bearer(s, world.admin)
    plan = await _created(client, headers)
    await client.patch(
        f"{URL}/{plan['id']}",
        json={"energy": {"kind": "fixed", "price_per_kwh": "0.35"}},
        headers=headers,
    )
    response = await client.get(f"{URL}/{plan['id']}/ocpi", headers=headers)
    assert response.status_code == 200
    tariff = json.loads(response.text, parse_float=Decimal)
    for element in tariff["elements"]:  # JSON numbers; the checker wants exact decimals
        for pc in element["price_components"]:
            pc["price"], pc["vat"] = Decimal(pc["price"]), Decimal(pc["vat"])
    assert_valid_ocpi_tariff(tariff)
    assert (tariff["country_code"], tariff["party_id"], tariff["id"]) == ("DE", "ABC", plan["id"])
    energy = tariff["elements"][-1]["price_components"][0]
    assert (energy["type"], energy["price"]) == ("ENERGY", Decimal("0.35"))
    assert "version 2" in tariff["tariff_alt_text"][0]["text"]


async def test_a_name_longer_than_the_column_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(URL, json={**DEPOT, "name": "x" * 150}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_name")
