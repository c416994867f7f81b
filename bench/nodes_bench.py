"""Several nodes on one PostgreSQL (N1): workers' throughput, and how fast news crosses nodes.

    PYTHONPATH=src python bench/nodes_bench.py --pg postgresql+psycopg://postgres@127.0.0.1/postgres

In one invocation, on a fresh database of its own:

1. **Workers**: ``chargegroups serve --workers 1`` and then ``--workers 2`` on one port, each
   saturated by wrk with ``POST /api/v1/decisions`` (16 keep-alive connections) and then by
   ``bench/ocpp_paced.py`` offering more OCPP 1.6 Authorize per second than it answers; the
   answered rates and their ratio.
2. **Revocation reach**: nodes A and B; K chargers connected to B answer ClearCache, while
   ``ocpp_paced.py`` sends 1 000 Authorize/s to B from other chargers. This process commits a
   revocation of one of the K chargers (another process's commit, as A's would be) and times
   commit → ClearCache received at the charger.
3. **Caller-cache staleness**: a bearer token cached by B (``GET /me`` answered); the token is
   revoked through A (``POST /auth/logout``); B is asked again every 2 ms until it answers 401.
   Measured from A's answer (the commit) to B's first 401.

Every loop is bounded by its count and ``--seconds``; servers are stopped by their pid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import websockets
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ocpp_bench import PASSWORD, build, free_port, our_chargers, paced, raise_fd_limit

from chargegroups import migrate
from chargegroups.auth.service import issue_token
from chargegroups.charger.revocation import access_revoked
from chargegroups.database import create_engine, create_sessionmaker, unit_of_work
from chargegroups.models import Charger, Grant, Operator, User

CHARGEGROUPS = Path(sys.executable).with_name("chargegroups")
WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/api/v1/decisions", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Bearer %s"}, bodies[i])
end
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def fresh_database(server: str) -> str:
    name = "cg_nodes_bench"
    url = make_url(server).set(database=name)
    admin = make_url(server).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    rendered = url.render_as_string(False)
    migrate.upgrade(rendered)
    return rendered


async def admin_tokens(url: str, n: int) -> tuple[str, list[str]]:
    """An operator admin of the bench operator, and ``n`` login tokens of theirs."""
    engine = create_engine(url)
    async with unit_of_work(create_sessionmaker(engine)) as s:
        operator = (await s.execute(Operator.__table__.select())).first()
        assert operator is not None
        user = (
            await s.execute(User.__table__.select().where(User.operator_id == operator.id))
        ).first()
        assert user is not None
        s.add(
            Grant(
                user_id=user.id,
                operator_id=operator.id,
                role="operator_admin",
                scope_id=operator.id,
            )
        )
        admin = await s.get_one(User, user.id)
        tokens = [
            (await issue_token(s, admin, kind="login", expires_at=None)).token for _ in range(n)
        ]
    await engine.dispose()
    return operator.id, tokens


def start(url: str, node_id: str, *extra: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "CHARGEGROUPS_DATABASE_URL": url,
        "CHARGEGROUPS_NODE_ID": node_id,
        "CHARGEGROUPS_CALLER_CACHE_SECONDS": "300",
        "CHARGEGROUPS_DRAIN_SECONDS": "5",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 (our own command)
            [str(CHARGEGROUPS), "serve", "--port", str(port), *extra],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{node_id} did not start; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(port: int, token: str, cp_ids: list[str], seconds: float, scratch: Path) -> float:
    bodies = ", ".join(
        json.dumps(json.dumps({"charge_point_id": cp, "token_uid": f"TOK{cp[2:]}"}))
        for cp in cp_ids
    )
    script = scratch / "decisions.lua"
    script.write_text(WRK_SCRIPT % (bodies, token))
    done = subprocess.run(  # noqa: S603
        ["wrk", "-t1", "-c16", f"-d{int(seconds)}s", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(done.stdout)


def saturated_ocpp(
    ws: str, chargers: list[dict[str, Any]], offered: float, seconds: float, pid: int
) -> dict[str, Any]:
    """``ocpp_paced.py`` offering more than is answered; a run the client gave up on is kept
    as answering 0 per second, with why (its error output)."""
    try:
        return paced(ws, chargers, "raw", "1.6", offered, seconds, pid)
    except subprocess.CalledProcessError as failed:
        return {"per_s": 0.0, "failed": (failed.stderr or "")[-500:]}


def workers(url: str, token: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    chargers = our_chargers(args.chargers)
    cp_ids = [c["path"] for c in chargers[:50]]
    out: dict[str, Any] = {}
    for n in (1, 2):
        proc, port = start(url, f"w{n}", "--workers", str(n), log=scratch / f"workers{n}.log")
        try:
            ws = f"ws://127.0.0.1:{port}/ocpp/"
            wrk(port, token, cp_ids, 2, scratch)  # warm every worker's pools and caches
            paced(ws, chargers, "raw", "1.6", args.ocpp_offered, 2, proc.pid)
            http = [wrk(port, token, cp_ids, args.seconds, scratch) for _ in range(args.reps)]
            ocpp = [
                saturated_ocpp(ws, chargers, args.ocpp_offered, args.seconds, proc.pid)
                for _ in range(args.reps)
            ]
            out[f"workers_{n}"] = {
                "http_decisions_per_s": statistics.median(http),
                "http_runs": http,
                "ocpp_authorize_per_s": statistics.median(r["per_s"] for r in ocpp),
                "ocpp_runs": [r["per_s"] for r in ocpp],
            }
        finally:
            stop(proc)
    one, two = out["workers_1"], out["workers_2"]
    out["ratio_http"] = two["http_decisions_per_s"] / one["http_decisions_per_s"]
    out["ratio_ocpp"] = two["ocpp_authorize_per_s"] / one["ocpp_authorize_per_s"]
    return out


async def clear_cache_listener(port: int, cp: str, received: asyncio.Queue[tuple[str, float]]):
    """A charger that answers every ClearCache at once and notes when it came."""
    import base64

    auth = "Basic " + base64.b64encode(f"{cp}:{PASSWORD}".encode()).decode()
    socket = await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{cp}",
        subprotocols=[websockets.Subprotocol("ocpp1.6")],
        additional_headers={"Authorization": auth},
        compression=None,
    )

    async def answer() -> None:
        async for frame in socket:
            message = json.loads(frame)
            if message[0] == 2 and message[2] == "ClearCache":
                received.put_nowait((cp, time.perf_counter()))
                await socket.send(json.dumps([3, message[1], {"status": "Accepted"}]))

    return socket, asyncio.create_task(answer())


async def revocation_reach(
    url: str, operator_id: str, port_b: int, pid_b: int, args: argparse.Namespace
) -> dict[str, Any]:
    chargers = our_chargers(args.chargers)
    listeners = [c["path"] for c in chargers[-args.listeners :]]
    load = chargers[: -args.listeners]
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with unit_of_work(sessionmaker) as s:
        ids = {
            cp: cid
            for cid, cp in (
                await s.execute(
                    Charger.__table__.select()
                    .with_only_columns(Charger.id, Charger.charge_point_id)
                    .where(Charger.charge_point_id.in_(listeners))
                )
            ).all()
        }
    received: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
    sockets = [await clear_cache_listener(port_b, cp, received) for cp in listeners]
    ws = f"ws://127.0.0.1:{port_b}/ocpp/"
    background = asyncio.create_task(
        asyncio.to_thread(paced, ws, load, "raw", "1.6", 1000, args.seconds + 20, pid_b)
    )
    await asyncio.sleep(3)  # the load runs
    reach_ms: list[float] = []
    lost = 0
    for i in range(args.samples):
        cp = listeners[i % len(listeners)]
        async with unit_of_work(sessionmaker) as s:
            access_revoked(s, operator_id=operator_id, charger_ids=[ids[cp]])
        committed = time.perf_counter()
        try:
            while True:
                got, at = await asyncio.wait_for(received.get(), 2)
                if got == cp:
                    reach_ms.append(1e3 * (at - committed))
                    break
        except TimeoutError:
            lost += 1
        await asyncio.sleep(0.02)
    authorize = await background
    for socket, task in sockets:
        task.cancel()
        await socket.close()
    await engine.dispose()
    if not reach_ms:
        raise SystemExit(f"no ClearCache arrived ({lost} revocations)")
    return {
        "samples": len(reach_ms),
        "lost": lost,
        "p50_ms": pct(reach_ms, 50),
        "p99_ms": pct(reach_ms, 99),
        "max_ms": max(reach_ms),
        "background_authorize_per_s": authorize["per_s"],
        "background_p99_ms": authorize.get("p99_ms"),
    }


async def caller_staleness(port_a: int, port_b: int, tokens: list[str]) -> dict[str, Any]:
    stale_ms: list[float] = []
    async with httpx.AsyncClient(timeout=5) as http:
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"}
            me_on_b = f"http://127.0.0.1:{port_b}/api/v1/me"
            assert (await http.get(me_on_b, headers=headers)).status_code == 200  # cached on B
            logout = f"http://127.0.0.1:{port_a}/api/v1/auth/logout"
            assert (await http.post(logout, headers=headers)).status_code == 204
            committed = time.perf_counter()
            deadline = committed + 5
            while time.perf_counter() < deadline:
                got = await http.get(me_on_b, headers=headers)
                if got.status_code == 401:
                    stale_ms.append(1e3 * (time.perf_counter() - committed))
                    break
                await asyncio.sleep(0.002)
    return {
        "samples": len(stale_ms),
        "p50_ms": pct(stale_ms, 50),
        "p99_ms": pct(stale_ms, 99),
        "max_ms": max(stale_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--chargers", type=int, default=300)
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--ocpp-offered", type=float, default=4000)
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    raise_fd_limit()
    url = fresh_database(args.pg)
    asyncio.run(build(url, args.chargers, 0))
    operator_id, tokens = asyncio.run(admin_tokens(url, args.samples + 1))
    results: dict[str, Any] = {"nproc": os.cpu_count(), "chargers": args.chargers}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if not args.skip_workers:
            results["workers"] = workers(url, tokens[-1], args, scratch)
            print(json.dumps(results["workers"], indent=1), flush=True)
        proc_a, port_a = start(url, "bench-a", log=scratch / "a.log")
        proc_b, port_b = start(url, "bench-b", log=scratch / "b.log")
        try:
            results["revocation_reach"] = asyncio.run(
                revocation_reach(url, operator_id, port_b, proc_b.pid, args)
            )
            print(json.dumps(results["revocation_reach"], indent=1), flush=True)
            results["caller_staleness"] = asyncio.run(
                caller_staleness(port_a, port_b, tokens[: args.samples])
            )
            print(json.dumps(results["caller_staleness"], indent=1), flush=True)
        finally:
            stop(proc_a)
            stop(proc_b)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
