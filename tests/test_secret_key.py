"""The development secret key (issue 16, finding 5): refused in production, never trusted."""

from __future__ import annotations

import json
import logging
from base64 import b64encode

import pytest
from itsdangerous import TimestampSigner
from pydantic import SecretStr
from typer.testing import CliRunner

from chargegroups.app import create_app, dispose
from chargegroups.cli import app as cli
from chargegroups.config import DEVELOPMENT_SECRET_KEY, UnsafeSettings, get_settings
from chargegroups.console.web import SESSION_TOKEN_KEY
from tests.fixtures.factories import bearer, make_operator


def test_the_development_key_under_an_https_public_url_refuses_to_start(app_settings) -> None:
    unsafe = app_settings.model_copy(
        update={"secret_key": SecretStr(DEVELOPMENT_SECRET_KEY), "public_url": "https://cg.example"}
    )
    with pytest.raises(UnsafeSettings, match="CHARGEGROUPS_SECRET_KEY"):
        create_app(unsafe)


async def test_the_development_key_elsewhere_starts_with_a_loud_warning(
    app_settings, caplog
) -> None:
    dev = app_settings.model_copy(update={"secret_key": SecretStr(DEVELOPMENT_SECRET_KEY)})
    with caplog.at_level(logging.WARNING, logger="chargegroups"):
        app = create_app(dev)
    await dispose(app)
    assert any("development default" in r.getMessage() for r in caplog.records)


def test_serve_says_why_it_refuses_without_a_traceback(monkeypatch, settings) -> None:
    monkeypatch.setenv("CHARGEGROUPS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHARGEGROUPS_PUBLIC_URL", "https://cg.example")
    monkeypatch.delenv("CHARGEGROUPS_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "CHARGEGROUPS_SECRET_KEY" in result.output and "Traceback" not in result.output


async def test_a_cookie_signed_with_the_development_key_is_not_accepted(uow, client) -> None:
    """The shared application has a real key: a cookie forged with the default one, even
    around a valid token, signs nobody in."""
    async with uow() as s:
        world = await make_operator(s)
        token = (await bearer(s, world.admin))["Authorization"].removeprefix("Bearer ")
    payload = b64encode(json.dumps({SESSION_TOKEN_KEY: token}).encode())
    forged = TimestampSigner(DEVELOPMENT_SECRET_KEY).sign(payload).decode()
    client.cookies.set("chargegroups_session", forged)
    response = await client.get("/console/")
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].endswith("/console/login")
