"""`chargegroups simulate-charger` drives a whole session against a running server."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from chargegroups.cli import app
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_simulate_charger_prints_every_answer_of_an_accepted_session(
    ocpp_url: str, network: Network, version: str
) -> None:
    args = ["simulate-charger", "--url", ocpp_url, "--charger", network.public.charge_point_id]
    args += ["--password", PASSWORD, "--token", network.member_token, "--ocpp", version]

    result = await asyncio.to_thread(CliRunner().invoke, app, args)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("BootNotification:")
    assert '"status": "Accepted"' in lines[1]
    assert lines[-1].startswith(("StopTransaction:", "TransactionEvent(Ended):"))


async def test_simulate_charger_reports_a_refused_handshake(
    ocpp_url: str, network: Network
) -> None:
    args = ["simulate-charger", "--url", ocpp_url, "--charger", network.public.charge_point_id]
    args += ["--password", "wrong", "--token", network.member_token]

    result = await asyncio.to_thread(CliRunner().invoke, app, args)

    assert result.exit_code == 1
    assert "401" in result.output
