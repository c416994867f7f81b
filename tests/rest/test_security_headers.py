"""Security headers on the console's and the API's answers (issue 16, finding 3)."""

from __future__ import annotations

import re

import httpx

from chargegroups.app import create_app, dispose
from chargegroups.console.web import HERE
from tests.fixtures.factories import bearer, make_charger, make_driver_token, make_operator


def _policy(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return {d.split()[0]: d.strip() for d in directives if d.strip()}


def _common(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert _policy(response)["frame-ancestors"] == "frame-ancestors 'none'"


async def test_the_console_runs_only_its_own_scripts_and_cannot_be_framed(client) -> None:
    response = await client.get("/console/login")
    assert response.status_code == 200
    _common(response)
    policy = _policy(response)
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert "strict-transport-security" not in response.headers  # the public URL is http


async def test_api_answers_and_errors_carry_the_headers(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        token = await make_driver_token(s, world.admin)
        headers = await bearer(s, world.admin)
    unauthenticated = await client.get("/api/v1/me")
    decision = await client.post(  # answered by the decision lane, past FastAPI
        "/api/v1/decisions",
        json={"charger_id": charger.id, "token_uid": token.uid},
        headers=headers,
    )
    assert (unauthenticated.status_code, decision.status_code) == (401, 200)
    for response in (unauthenticated, decision):
        _common(response)
        assert _policy(response)["default-src"] == "default-src 'none'"


async def test_hsts_when_the_public_url_is_https(app_settings) -> None:
    app = create_app(app_settings.model_copy(update={"public_url": "https://cg.example"}))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://cg.example") as http:
            response = await http.get("/console/login")
    finally:
        await dispose(app)
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_no_template_holds_an_inline_script_style_or_handler() -> None:
    """What the console's CSP relies on: every script and style comes from /static."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)
    found = {
        path.name: match.group(0)
        for path in (HERE / "templates").glob("*.html")
        if (match := inline.search(path.read_text()))
    }
    assert found == {}
