"""What ``chargegroups serve`` logs: JSON or text lines on stderr, the application's own INFO
lines among them, each naming its request or charger, and never a password or token."""

from __future__ import annotations

import json

import httpx
import pytest
from ocpp.v16 import call as call16
from sqlalchemy import delete

from chargegroups.config import Settings
from chargegroups.kit.logs import redact
from chargegroups.models import Charger
from chargegroups.ocpp.simulator import connected
from tests.fixtures.factories import (
    PASSWORD,
    make_charger,
    make_driver_token,
    make_operator,
    make_user,
)
from tests.fixtures.served import serving


@pytest.fixture
async def world(uow):
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator, access_mode="public")
        driver = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, driver)
    return world, charger, token


async def _exercise(base: str, uow, world, charger, driver_token) -> dict[str, str]:
    """A login, a token's use, an invitation, an OCPP handshake with its password and a
    message refused (its charger removed meanwhile); the secrets they carried."""
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/api/v1/auth/token",
            data={
                "username": world.admin.email,
                "password": PASSWORD,
                "operator": world.operator.slug,
            },
            headers={"X-Request-ID": "login-request-1"},
        )
        assert login.status_code == 200, login.text
        access_token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {access_token}", "X-Request-ID": "invite-request-1"}
        invited = await http.post(
            f"/api/v1/accounts/{world.default_account.id}/invitations",
            json={"email": "new.driver@example.com"},
            headers=headers,
        )
        assert invited.status_code == 201, invited.text
        outbox = await http.get("/api/v1/outbox", headers=headers)
        body = outbox.json()["items"][0]["body_text"]
        link = next(word for word in body.split() if "/invite/" in word)
        invitation_token = link.rsplit("/", 1)[1]
        await http.get(f"/invite/{invitation_token}")  # the emailed link, followed
    ocpp_url = base.replace("http://", "ws://") + "/ocpp"
    async with connected(ocpp_url, charger.charge_point_id, PASSWORD, "1.6") as cp:
        async with uow() as s:
            await s.execute(delete(Charger).where(Charger.id == charger.id))
        answer = await cp.call(call16.Authorize(id_tag=driver_token.uid))
        assert answer.id_tag_info["status"] == "Invalid"
    return {"password": PASSWORD, "access token": access_token, "invitation": invitation_token}


def test_redact_takes_tokens_out_of_paths_and_queries() -> None:
    assert redact('"GET /console/invite/abc123?next=1 HTTP/1.1"') == (
        '"GET /console/invite/[redacted]?next=1 HTTP/1.1"'
    )
    assert redact("/join/xyz") == "/join/[redacted]"
    assert redact("/a?token=s3cret&x=1") == "/a?token=[redacted]&x=1"


async def test_json_lines_name_the_request_and_charger_and_carry_no_secret(
    settings: Settings, uow, world
) -> None:
    operator_world, charger, driver_token = world
    env = {"CHARGEGROUPS_DATABASE_URL": settings.database_url, "CHARGEGROUPS_LOG_FORMAT": "json"}
    with serving(env) as served:
        secrets = await _exercise(served.url, uow, operator_world, charger, driver_token)

    lines = [json.loads(line) for line in served.lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    outbox = [line for line in lines if "kept in the outbox" in line["message"]]
    assert outbox and outbox[0]["logger"] == "chargegroups.email"
    assert outbox[0]["level"] == "INFO" and outbox[0]["request_id"] == "invite-request-1"
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(line.get("request_id") == "login-request-1" for line in access)
    refused = [line for line in lines if "No such charger" in line["message"]]
    assert refused and refused[0]["charge_point_id"] == charger.charge_point_id
    for name, secret in secrets.items():
        assert secret not in served.stderr, f"the {name} is in the logs"
        assert secret not in served.stdout, f"the {name} is in the output"


def test_text_lines_name_the_request(settings: Settings) -> None:
    env = {"CHARGEGROUPS_DATABASE_URL": settings.database_url, "CHARGEGROUPS_LOG_FORMAT": "text"}
    with serving(env) as served:
        httpx.get(f"{served.url}/healthz", headers={"X-Request-ID": "probe-7"})
    assert any("request_id=probe-7" in line and "/healthz" in line for line in served.lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(served.lines[-1])
