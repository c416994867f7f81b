"""Instants and integers from clients are bounded (issue 16, finding 4): a 422, never a 500."""

from __future__ import annotations

import pytest

from tests.fixtures.factories import (
    bearer,
    make_charger,
    make_driver_token,
    make_operator,
    make_rate_plan,
)


@pytest.mark.parametrize(
    "at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", 4102444800]
)
async def test_a_decision_at_an_instant_out_of_bounds_is_a_422(uow, client, at) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        token = await make_driver_token(s, world.admin)
        headers = await bearer(s, world.admin)
    response = await client.post(
        "/api/v1/decisions",
        json={"charger_id": charger.id, "token_uid": token.uid, "at": at},
        headers=headers,
    )
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


async def test_a_decision_at_the_last_instant_allowed_is_answered(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        token = await make_driver_token(s, world.admin)
        headers = await bearer(s, world.admin)
    response = await client.post(
        "/api/v1/decisions",
        json={"charger_id": charger.id, "token_uid": token.uid, "at": "2100-12-31T23:59:59Z"},
        headers=headers,
    )
    assert response.status_code == 200, response.text


async def test_a_rate_plan_version_too_large_for_any_column_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.get(
        f"/api/v1/rate-plans/{plan.id}", params={"version": 10**23}, headers=headers
    )
    assert response.status_code == 422


@pytest.mark.parametrize("expires_at", [1893456000, "0001-01-01T00:00:00Z", "2200-01-01T00:00:00Z"])
async def test_an_api_token_expiry_that_is_a_number_or_out_of_bounds_is_a_422(
    uow, client, expires_at
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        "/api/v1/me/api-tokens", json={"name": "ci", "expires_at": expires_at}, headers=headers
    )
    assert response.status_code == 422
