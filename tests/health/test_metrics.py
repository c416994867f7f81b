"""GET /metrics: Prometheus text that moves with real requests, decisions and emails;
optionally behind a token; added up over processes when workers share a directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from chargegroups.app import create_app, dispose
from chargegroups.config import Settings
from tests.fixtures.factories import (
    bearer,
    make_charger,
    make_driver_token,
    make_operator,
    make_user,
)
from tests.fixtures.metrics import sample_value, scrape
from tests.rest.test_problems import assert_problem


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE chargegroups_http_requests_total counter" in response.text
    assert "# TYPE chargegroups_ocpp_connections gauge" in response.text


async def test_requests_are_counted_by_route_template_and_status(
    uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    route = "/api/v1/accounts/{account_id}"
    labels = {"method": "GET", "route": route}
    before_404 = await scrape(client, "chargegroups_http_requests_total", **labels, status="404")
    before_timed = await scrape(
        client, "chargegroups_http_request_duration_seconds_count", **labels
    )

    for _ in range(3):
        response = await client.get("/api/v1/accounts/no-such-account", headers=headers)
        assert response.status_code == 404

    text = (await client.get("/metrics")).text
    assert sample_value(text, "chargegroups_http_requests_total", **labels, status="404") == (
        before_404 + 3
    )
    assert (
        sample_value(text, "chargegroups_http_request_duration_seconds_count", **labels)
        == before_timed + 3
    )
    assert "no-such-account" not in text  # a path is never a label


async def test_unrouted_paths_share_one_label(client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = await scrape(client, "chargegroups_http_requests_total", **labels)
    await client.get("/nothing/here/at-all")
    assert await scrape(client, "chargegroups_http_requests_total", **labels) == before + 1


async def test_decisions_are_counted_by_outcome_and_reason_and_route(
    uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator, access_mode="public")
        driver = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, driver)
        headers = await bearer(s, world.admin)
    accepted = {"outcome": "allowed", "reason": "accepted_public"}
    unknown = {"outcome": "refused", "reason": "token_unknown"}
    lane = {"method": "POST", "route": "/api/v1/decisions", "status": "200"}
    before = {
        "accepted": await scrape(client, "chargegroups_decisions_total", **accepted),
        "unknown": await scrape(client, "chargegroups_decisions_total", **unknown),
        "lane": await scrape(client, "chargegroups_http_requests_total", **lane),
    }

    for uid in (token.uid, token.uid, "NOT-A-TOKEN"):
        response = await client.post(
            "/api/v1/decisions",
            json={"charge_point_id": charger.charge_point_id, "token_uid": uid},
            headers=headers,
        )
        assert response.status_code == 200, response.text

    text = (await client.get("/metrics")).text
    assert sample_value(text, "chargegroups_decisions_total", **accepted) == before["accepted"] + 2
    assert sample_value(text, "chargegroups_decisions_total", **unknown) == before["unknown"] + 1
    assert sample_value(text, "chargegroups_http_requests_total", **lane) == before["lane"] + 3


async def test_an_email_kept_in_the_outbox_is_counted(uow, client: httpx.AsyncClient) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    before = await scrape(client, "chargegroups_email_deliveries_total", outcome="outbox")
    response = await client.post(
        f"/api/v1/accounts/{world.default_account.id}/invitations",
        json={"email": "new.driver@example.com"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert await scrape(client, "chargegroups_email_deliveries_total", outcome="outbox") == (
        before + 1
    )


@pytest.fixture
async def guarded_app(app_settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(
        app_settings.model_copy(update={"metrics_token": SecretStr("scrape-me-please")})
    )
    yield app
    await dispose(app)


async def test_a_metrics_token_keeps_metrics_to_its_bearer(guarded_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=guarded_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert_problem(await http.get("/metrics"), 401, "unauthenticated")
        wrong = {"Authorization": "Bearer scrape-me-not"}
        assert_problem(await http.get("/metrics", headers=wrong), 401, "unauthenticated")
        right = {"Authorization": "Bearer scrape-me-please"}
        response = await http.get("/metrics", headers=right)
        assert response.status_code == 200
        assert "chargegroups_http_requests_total" in response.text
        assert (await http.get("/healthz")).status_code == 200  # probes stay open


_WORKER = """
import sys
from chargegroups.kit import metrics
metrics.count_decision(True, "accepted_public")
metrics.OCPP_CONNECTIONS.labels("1.6").inc()
if sys.argv[1] == "leaves":
    metrics.process_exited()
"""
_SCRAPER = """
import sys
from chargegroups.kit import metrics
sys.stdout.write(metrics.exposition().decode())
"""


def test_with_a_multiprocess_directory_every_process_is_added_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for role in ("stays", "stays", "leaves"):
        subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _WORKER, role], env=env, check=True, timeout=60
        )

    scraped = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SCRAPER], env=env, check=True, timeout=60, capture_output=True
    ).stdout.decode()

    decisions = {"outcome": "allowed", "reason": "accepted_public"}
    assert sample_value(scraped, "chargegroups_decisions_total", **decisions) == 3
    # Connections are those of live processes: the one that left no longer counts.
    assert sample_value(scraped, "chargegroups_ocpp_connections", version="1.6") == 2
