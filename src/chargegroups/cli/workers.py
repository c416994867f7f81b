"""``serve --workers N``: N processes on one host sharing the port (N1).

Each worker is a whole ``serve`` of its own (its own node id, ``{node}/w{i}``, its own LISTEN
connection and leases) that binds the port with SO_REUSEPORT, so the kernel spreads incoming
connections over them. This process only supervises: a worker that dies is started again;
SIGTERM or SIGINT is passed on, each worker drains, and this process waits for them (killing
any that outlive the drain's bound) before it exits.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from chargegroups.config import get_settings

RESTART_PAUSE_SECONDS = 1.0  # a worker that dies at once is not restarted in a tight loop


def supervise(count: int, *, host: str, port: int, node_id: str, options: dict[str, Any]) -> None:
    """Run ``count`` workers, each ``run_server(..., **options)``, until SIGTERM or SIGINT."""
    # Spawned, not forked: a worker starts from a clean interpreter (no event loop, no
    # connections or threads of this process).
    context = multiprocessing.get_context("spawn")
    # prometheus-client's multiprocess mode: every worker writes its samples here.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="chargegroups-"))
    workers: dict[int, BaseProcess] = {}
    stopping = False

    def start(index: int) -> None:
        worker = context.Process(
            target=_run_worker,
            args=(host, port, f"{node_id}/w{index}", options),
            name=f"chargegroups-worker-{index}",
        )
        worker.start()
        workers[index] = worker

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers.values():
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(count):
        start(index)
    deadline: float | None = None
    while workers:
        if stopping and deadline is None:
            deadline = time.monotonic() + get_settings().drain_seconds + 10
        wait([w.sentinel for w in workers.values()], timeout=0.5)
        for index, worker in list(workers.items()):
            if worker.is_alive():
                if deadline is not None and time.monotonic() > deadline:
                    worker.kill()
                continue
            worker.join()
            del workers[index]
            if not stopping:
                time.sleep(RESTART_PAUSE_SECONDS)
                start(index)


def _run_worker(host: str, port: int, node_id: str, options: dict[str, Any]) -> None:
    from chargegroups.app import create_app
    from chargegroups.cli import run_server

    os.environ["CHARGEGROUPS_NODE_ID"] = node_id
    get_settings.cache_clear()
    app = create_app(get_settings())
    run_server(app, host=host, port=port, reuse_port=True, **options)
