"""Server CPU per ``POST /api/v1/decisions``, in process: the ASGI app called directly.

No sockets and no load generator share the two cores, so the figure is repeatable enough to
compare two builds of the endpoint (the machine is shared: take the minimum of a few runs).
``--profile FILE`` writes a cProfile of one pass (``--sort`` picks the order of the summary).

    python bench/http_inprocess.py --url postgresql+psycopg://postgres@127.0.0.1/cg_bench_s10 \
        --scratch /tmp/bench10 --div 10
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import uvloop  # noqa: E402
from decision_bench import ADMIN_TOKEN, queries  # noqa: E402

from chargegroups.app import create_app  # noqa: E402
from chargegroups.cli import GC_THRESHOLD  # noqa: E402
from chargegroups.config import Settings  # noqa: E402


def scope_for() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/decisions",
        "raw_path": b"/api/v1/decisions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", b"Bearer " + ADMIN_TOKEN.encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def one(app: Any, body: bytes) -> int:
    scope = scope_for()
    scope["headers"].append((b"content-length", str(len(body)).encode()))
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def passes(url: str, bodies: list[bytes], reps: int, conc: int, profile: Path | None):
    app = create_app(Settings(database_url=url))
    out = []
    async with app.router.lifespan_context(app):
        for b in bodies[:200]:  # warm: caches, prepared statements, pools
            assert await one(app, b) == 200
        # As cli.run_server collects garbage.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        for rep in range(reps):
            prof = cProfile.Profile(time.process_time) if profile and rep == reps - 1 else None
            c0, w0 = time.process_time(), time.perf_counter()
            if prof:
                prof.enable()
            for start in range(0, len(bodies), conc):
                batch = bodies[start : start + conc]
                statuses = await asyncio.gather(*(one(app, b) for b in batch))
                assert all(s == 200 for s in statuses), statuses
            if prof:
                prof.disable()
                prof.dump_stats(str(profile))
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            out.append({"cpu_us_per_req": 1e6 * cpu / len(bodies), "wall_s": wall})
            print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--scratch", type=Path, required=True, help="the decision bench's scratch")
    p.add_argument("--div", type=int, default=10)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--conc", type=int, default=16, help="requests in flight at once")
    p.add_argument("--profile", type=Path)
    p.add_argument("--sort", default="tottime")
    args = p.parse_args()
    bodies = [
        json.dumps({"charger_id": c, "token_uid": uid}).encode()
        for uid, c in queries(args.scratch, args.div, args.n)
    ]
    runs = uvloop.run(passes(args.url, bodies, args.reps, args.conc, args.profile))
    print("min cpu_us_per_req", round(min(r["cpu_us_per_req"] for r in runs), 1))
    if args.profile:
        pstats.Stats(str(args.profile)).sort_stats(args.sort).print_stats(40)


if __name__ == "__main__":
    main()
