"""The decision lane answers POST /decisions past FastAPI exactly as the route would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chargegroups.app import create_app, dispose
from chargegroups.decision.endpoints import DecisionLane
from chargegroups.rest.middleware import MAX_BODY_BYTES
from tests.fixtures.factories import (
    add_member,
    bearer,
    link_scope,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_rate_plan,
    make_user,
    set_discount,
)
from tests.rest.test_problems import assert_problem

URL = "/api/v1/decisions"


@pytest.fixture
async def route_only(app_settings) -> AsyncIterator[FastAPI]:
    """The application without the lane: every decision request reaches the route."""
    app = create_app(app_settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not DecisionLane]
    yield app
    await dispose(app)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


_world: dict[str, Any] = {}


async def _seeded(uow) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One small network per test (the database is emptied after each test, not each example):
    a private charger whose scope holds a discounted group, its member and an outsider."""
    if _world.get("uow") is uow:
        return _world
    async with uow() as s:
        world = await make_operator(s)
        other = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        member = await make_user(s, world.operator, world.default_account)
        outsider = await make_user(s, world.operator, world.default_account)
        group = await make_group(s, world.operator)
        await add_member(s, group, member)
        await set_discount(s, plan, group, percent="20")
        charger = await make_charger(s, world.operator, access_mode="private", rate_plan_id=plan.id)
        await link_scope(s, charger, group)
        foreign = await make_charger(s, other.operator)
        _world.clear()
        _world.update(
            uow=uow,
            chargers=[charger.id, charger.charge_point_id, foreign.id, foreign.charge_point_id],
            tokens=[
                (await make_driver_token(s, member)).uid,
                (await make_driver_token(s, outsider)).uid,
                (await make_driver_token(s, other.admin)).uid,
            ],
            users=[member.id, outsider.id, other.admin.id],
            auth=[
                (await bearer(s, world.admin))["Authorization"],
                (await bearer(s, member))["Authorization"],
                (await bearer(s, other.admin))["Authorization"],
            ],
        )
    return _world


def _pick(kind: str) -> st.SearchStrategy[Any]:
    """An index into the seeded network's ``kind``, or a value that is no such thing."""
    return st.one_of(
        st.integers(0, 3).map(lambda i: ("known", kind, i)),
        st.sampled_from(["", "   ", "nope", "x" * 80, None, 7, ["a"], {"a": 1}]),
        st.text(max_size=12),
    )


@st.composite
def well_formed(draw: st.DrawFn) -> dict[str, Any]:
    """One charger and one driver, each named one way or the other: mostly valid."""
    asked = {
        draw(st.sampled_from(["charger_id", "charge_point_id"])): (
            "known",
            "chargers",
            draw(st.integers(0, 3)),
        ),
        draw(st.sampled_from(["token_uid", "user_id"])): draw(
            st.sampled_from(
                [("known", "tokens", 0), ("known", "tokens", 1), ("known", "tokens", 2)]
            )
        ),
    }
    if "user_id" in asked:
        asked["user_id"] = ("known", "users", asked["user_id"][2])
    if draw(st.booleans()):
        asked["at"] = "2026-06-01T12:00:00Z"
    return asked


arbitrary = st.fixed_dictionaries(
    {},
    optional={
        "charger_id": _pick("chargers"),
        "charge_point_id": _pick("chargers"),
        "token_uid": _pick("tokens"),
        "user_id": _pick("users"),
        "at": st.sampled_from(["2026-06-01T12:00:00Z", "2026-06-01T12:00:00", "tomorrow", None, 5]),
        "extra": st.just(1),
    },
)
requests = st.one_of(well_formed(), well_formed(), well_formed(), arbitrary)
raw_bodies = st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"\xff\xfe", b"{}"])
authorizations = st.one_of(
    st.just(("known", "auth", 0)),  # the operator admin: may ask anything
    st.integers(0, 2).map(lambda i: ("known", "auth", i)),
    st.sampled_from([None, "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer", "bearer "]),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        None,
    ]
)


def _resolve(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, tuple) and value[:1] == ("known",):
        items = world[value[1]]
        return items[value[2] % len(items)]
    return value


def _comparable(response: httpx.Response) -> tuple[int, str | None, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body.pop("request_id", None)  # a new one for every request
        if body.get("cache_expires_at") is not None:  # counts from "now" when no "at" is asked
            body["cache_expires_at"] = "present"
    return response.status_code, response.headers.get("content-type"), body


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    asked=requests,
    raw=st.none() | st.none() | raw_bodies,
    authorization=authorizations,
    content_type=content_types,
)
async def test_the_lane_answers_every_request_exactly_as_the_route(
    uow, client, route_only, asked, raw, authorization, content_type
) -> None:
    world = await _seeded(uow)
    body = raw if raw is not None else json.dumps({k: _resolve(v, world) for k, v in asked.items()})
    headers = {}
    if (auth := _resolve(authorization, world)) is not None:
        headers["Authorization"] = auth
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with _client(route_only) as plain:
        expected = await plain.post(URL, content=body, headers=headers)
    answered = await client.post(URL, content=body, headers=headers)
    event(f"status {answered.status_code}")
    assert _comparable(answered) == _comparable(expected)
    assert answered.headers["x-request-id"]


async def test_an_oversized_body_is_handed_to_the_route_and_refused_there(uow, client) -> None:
    world = await _seeded(uow)
    padded = json.dumps({"charger_id": world["chargers"][0], "pad": "x" * (MAX_BODY_BYTES + 1)})
    headers = {"Authorization": world["auth"][0], "Content-Type": "application/json"}
    response = await client.post(URL, content=padded, headers=headers)
    assert_problem(response, 413, "payload_too_large")


async def test_a_body_sent_in_pieces_is_read_whole(uow, client) -> None:
    world = await _seeded(uow)
    whole = json.dumps({"charger_id": world["chargers"][0], "token_uid": world["tokens"][0]})

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(whole), 7):
            yield whole[start : start + 7].encode()

    headers = {"Authorization": world["auth"][0], "Content-Type": "application/json"}
    response = await client.post(URL, content=pieces(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["reason"] == "accepted_via_group"
    assert response.json()["discount"] == {"percent": "20"}
