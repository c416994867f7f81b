"""Several nodes on one PostgreSQL database (N1): real ``chargegroups serve`` processes on free
loopback ports, started as a deployment starts them; the ``ocpp`` library is the charger."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.ocpp.conftest import network  # noqa: F401 (the fixture, for these tests too)

START_SECONDS = 60
STOP_SECONDS = 30
CHARGEGROUPS = Path(sys.executable).with_name("chargegroups")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServeProcess:
    """One ``chargegroups serve`` process."""

    node_id: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ocpp(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_SECONDS)


def start_node(database_url: str, node_id: str, log_dir: Path, *extra: str) -> ServeProcess:
    port = _free_port()
    log = log_dir / f"{node_id.replace('/', '_')}.log"
    env = {
        **os.environ,
        "CHARGEGROUPS_DATABASE_URL": database_url,
        "CHARGEGROUPS_NODE_ID": node_id,
        "CHARGEGROUPS_SECRET_KEY": "test-secret",
        # Long enough that only news from the other node can make a cached caller stale.
        "CHARGEGROUPS_CALLER_CACHE_SECONDS": "300",
        "CHARGEGROUPS_DRAIN_SECONDS": "5",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own command)
            [str(CHARGEGROUPS), "serve", "--port", str(port), *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    node = ServeProcess(node_id, port, process, log)
    deadline = time.monotonic() + START_SECONDS
    while True:  # readiness, not timing: bounded wait until it answers
        if process.poll() is not None or time.monotonic() > deadline:
            node.stop(signal.SIGKILL)
            raise RuntimeError(f"{node_id} did not start:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{node.http}/readyz", timeout=5).status_code == 200:
                return node
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


@pytest.fixture(scope="session")
def nodes(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServeProcess]]:
    """Two nodes, A and B, for the whole run."""
    log_dir = tmp_path_factory.mktemp("nodes")
    started = [start_node(migrated, name, log_dir) for name in ("node-a", "node-b")]
    yield started
    for node in started:
        node.stop()
