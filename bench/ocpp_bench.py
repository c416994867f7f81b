"""OCPP edge benchmark: N chargers on loopback sending Authorize at a fixed total rate.

    PYTHONPATH=src python bench/ocpp_bench.py                 # small: 200 chargers, 500 idle
    PYTHONPATH=src python bench/ocpp_bench.py --full          # 1 000 chargers, 5 000 idle
    ... --baseline /tmp/x/baselines                           # also the bare-library baseline

Measures, per protocol version and offered rate: p50/p99 round trip, achieved rate, server CPU
per message, lost and twice-answered messages; then the server's memory per idle connection and
the time to accept that many handshakes (passwords already verified once: the process cache), and
the cold handshake (first argon2 verification). The server runs in its own process (psutil reads
its CPU and RSS); it is stopped by its pid. Everything is bounded by --seconds per scenario.

The fleet's chargers get argon2 hashes with cheap parameters so that warming 5 000 of them takes
seconds, not minutes; the cold-handshake figure uses a production-strength hash.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import websockets
from argon2 import PasswordHasher

from chargegroups import migrate
from chargegroups.database import create_engine, create_sessionmaker, unit_of_work
from chargegroups.kit.secrets import hash_password
from chargegroups.models import (
    Account,
    Charger,
    DriverToken,
    GroupDiscount,
    GroupMembership,
    Operator,
    RatePlan,
    User,
    UserGroup,
)
from chargegroups.models.rate_plan import RatePlanVersion
from chargegroups.user.rules import new_parent_id_tag

# After a scenario closes its connections, before the next one starts: the server writes their
# last contact and collects them (the baseline's separate client processes leave a like gap).
SETTLE_SECONDS = 2.0
PASSWORD = "bench-password"  # noqa: S105 (the bench fleet's, on loopback)
TERMS = {
    "currency": "EUR",
    "vat_percent": "21",
    "energy": {"kind": "fixed", "price_per_kwh": "0.40"},
    "connection_fee": "1.00",
}


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# ------------------------------------------------------------------------------ data


async def build(url: str, chargers: int, cold: int) -> None:
    """One operator: a plan with a 20 % group discount, one driver+token per charger."""
    engine = create_engine(url)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    strong = hash_password(PASSWORD)
    async with unit_of_work(create_sessionmaker(engine)) as s:
        op = Operator(slug="bench", name="Bench")
        s.add(op)
        await s.flush()
        account = Account(
            operator_id=op.id, name="Default", name_normalized="default", is_default=True
        )
        plan = RatePlan(operator_id=op.id, name="Depot", name_normalized="depot", currency="EUR")
        s.add_all([account, plan])
        await s.flush()
        op.default_rate_plan_id = plan.id
        s.add(RatePlanVersion(rate_plan_id=plan.id, version=1, terms=TERMS))
        group = UserGroup(
            operator_id=op.id,
            name="Fleet",
            name_normalized="fleet",
            scope_kind="all_accounts",
            scope_key="*",
        )
        s.add(group)
        await s.flush()
        s.add(GroupDiscount(rate_plan_id=plan.id, group_id=group.id, operator_id=op.id, percent=20))
        for i in range(chargers + cold):
            user = User(
                operator_id=op.id,
                account_id=account.id,
                email=f"d{i}@bench.test",
                email_normalized=f"d{i}@bench.test",
                name=f"Driver {i}",
                parent_id_tag=new_parent_id_tag(),
            )
            s.add(user)
            await s.flush()
            s.add(
                GroupMembership(
                    operator_id=op.id, group_id=group.id, user_id=user.id, source="import"
                )
            )
            s.add(
                DriverToken(
                    operator_id=op.id,
                    user_id=user.id,
                    uid=f"TOK{i:06d}",
                    uid_normalized=f"tok{i:06d}",
                    type="rfid",
                )
            )
            s.add(
                Charger(
                    operator_id=op.id,
                    charge_point_id=f"CP{i:06d}",
                    name=f"CP {i}",
                    access_mode="public",
                    connectors=2,
                    password_hash=cheap if i < chargers else strong,
                )
            )
    await engine.dispose()


# ------------------------------------------------------------------------------ server


def serve(url: str, port: int) -> None:
    """The application as ``chargegroups serve`` runs it (``run_server``), on ``port``."""
    from chargegroups.app import create_app
    from chargegroups.cli import run_server
    from chargegroups.config import Settings

    raise_fd_limit()
    app = create_app(Settings(database_url=url))
    options = {"backlog": 4096, "ws": os.environ.get("OCPP_BENCH_WS", "auto")}
    profile = os.environ.get("OCPP_BENCH_PROFILE")  # a path: write the server's cProfile there
    if not profile:
        run_server(app, host="127.0.0.1", port=port, log_level="warning", **options)
        return
    import cProfile
    import signal

    profiler = cProfile.Profile()
    signal.signal(
        signal.SIGTERM, lambda *_: (profiler.disable(), profiler.dump_stats(profile), os._exit(0))
    )
    profiler.enable()
    run_server(app, host="127.0.0.1", port=port, log_level="warning", **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)])  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("server did not start")


# ------------------------------------------------------------------------------ client


def paced(
    url: str,
    chargers: list[dict[str, Any]],
    client: str,
    version: str,
    rate: float,
    seconds: float,
    pid: int,
) -> dict[str, Any]:
    """``bench/ocpp_paced.py`` (see there) in a process of its own, against the server ``pid``
    at ``url``; then the pause after its connections close."""
    target = {
        "client": client, "version": version, "url": url, "chargers": chargers, "rate": rate,
        "seconds": seconds, "server_pid": pid,
    }  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(target, f)
    try:
        done = subprocess.run(  # noqa: S603  (our own fixed command)
            [sys.executable, str(Path(__file__).with_name("ocpp_paced.py")), f.name],
            capture_output=True, text=True, check=True, timeout=seconds + 300,
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    time.sleep(SETTLE_SECONDS)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def warm_up(url: str, chargers: list[dict[str, Any]], args: argparse.Namespace, pid: int) -> None:
    """One short run at the highest rate, not counted, before a server is measured: the first
    connections and calls of a fresh process (its memory growing, first collections, caches
    filling) are not what a serving process does."""
    paced(url, chargers, "raw", "1.6", max(args.rates), 2.0, pid)


def our_chargers(n: int) -> list[dict[str, Any]]:
    """Charger i presents its driver's token, then an unknown one, in turn."""
    out = []
    for i in range(n):
        cp = f"CP{i:06d}"
        auth = "Basic " + base64.b64encode(f"{cp}:{PASSWORD}".encode()).decode()
        out.append({"path": cp, "authorization": auth, "id_tags": [f"TOK{i:06d}", f"UNK{i:06d}"]})
    return out


async def open_ws(port: int, i: int, version: str) -> Any:
    cp = f"CP{i:06d}"
    auth = "Basic " + base64.b64encode(f"{cp}:{PASSWORD}".encode()).decode()
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{cp}",
        subprotocols=[f"ocpp{version}"],
        additional_headers={"Authorization": auth},
        open_timeout=120,
        ping_interval=None,
        max_queue=16,
    )


async def open_many(port: int, ids: range, version: str) -> tuple[list[Any], float]:
    sem = asyncio.Semaphore(200)

    async def one(i: int) -> Any:
        async with sem:
            return await open_ws(port, i, version)

    t0 = time.perf_counter()
    sockets = await asyncio.gather(*(one(i) for i in ids))
    return list(sockets), time.perf_counter() - t0


async def close_all(sockets: list[Any]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def handshakes_and_idle(
    port: int, n: int, pid: int, cold: int, chargers: int
) -> dict[str, Any]:
    server = psutil.Process(pid)
    # First contact (argon2 once per charger) in batches, each closed before the next: the
    # memory they free can then hold at most one batch of the connections measured below.
    t0 = time.perf_counter()
    for start in range(0, n, 200):
        await close_all((await open_many(port, range(start, min(n, start + 200)), "1.6"))[0])
    warm_s = time.perf_counter() - t0
    await asyncio.sleep(1)  # let the server finish closing before it is measured again
    # Measured after first contact, as the baseline measures after its scenarios: the argon2
    # worker threads' arenas are not per-connection costs.
    rss0 = server.memory_info().rss
    idle, accept_s = await open_many(port, range(n), "1.6")
    await asyncio.sleep(1)
    rss1 = server.memory_info().rss
    await close_all(idle)
    await asyncio.sleep(SETTLE_SECONDS)
    t0 = time.perf_counter()
    for i in range(chargers, chargers + cold):  # production-strength hash, one at a time
        await (await open_ws(port, i, "1.6")).close()
    cold_ms = 1e3 * (time.perf_counter() - t0) / max(1, cold)
    return {
        "idle_connections": n,
        "first_contact_s": warm_s,
        "accept_s": accept_s,
        "server_kib_per_idle_connection": (rss1 - rss0) / 1024 / n,
        "cold_handshake_ms": cold_ms,
    }


# ------------------------------------------------------------------------------ baseline


BASELINE_DIV = 100  # the bare server's in-memory network: its size does not matter here


def baseline(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The bare-library server of ../shared/baselines (a scratch copy: ``ocpp_server.py``, an
    ``ocpp`` 1.6 server whose Authorize is a dict lookup, schema validation on) under the very
    load ours took: the same client program, charge points and schedule. Then the baselines' own
    ``exp4_ocpp.py`` for its memory per idle connection and its own client's handshakes."""
    if not (path / "data").exists():
        subprocess.run([sys.executable, "gen.py", str(BASELINE_DIV)], cwd=path, check=True)  # noqa: S603
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "ocpp_server.py", str(BASELINE_DIV), str(port)],
        cwd=path, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None and "READY" in server.stdout.readline()
        rows = (path / "data" / f"s{BASELINE_DIV}" / "queries.csv").read_text().splitlines()
        good = [r.split(",") for r in rows[0::2]]  # plausible (user, token, charger) pairs
        unknown = [r.split(",")[1] for r in rows[1::2]]  # as its own client alternates
        chargers = [
            {"path": f"CP{good[i % len(good)][2]}", "id_tags": [good[i % len(good)][1],
             unknown[i % len(unknown)]]}
            for i in range(args.chargers)
        ]  # fmt: skip
        warm_up(f"ws://127.0.0.1:{port}/", chargers, args, server.pid)
        scenarios = []
        for client in args.clients:
            for rate in args.rates:
                for _ in range(args.reps):
                    result = paced(
                        f"ws://127.0.0.1:{port}/", chargers, client, "1.6", rate, args.seconds,
                        server.pid,
                    )  # fmt: skip
                    print("baseline", json.dumps(result), flush=True)
                    scenarios.append(result)
    finally:
        server.terminate()  # by its pid
        server.wait(timeout=30)
    env = {**os.environ, "PACED": "", "IDLE_N": str(args.idle)}
    subprocess.run(  # noqa: S603
        [sys.executable, "exp4_ocpp.py", str(BASELINE_DIV), "default", "1", "2000", "5"],
        cwd=path, env=env, check=True, timeout=3600,
    )  # fmt: skip
    own = json.loads((path / "results" / f"exp4_s{BASELINE_DIV}_default.json").read_text())
    return {"scenarios": scenarios, "idle": own.get("idle")}


# ------------------------------------------------------------------------------ main


def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    proc, port = start_server(url)
    try:
        idle = asyncio.run(
            handshakes_and_idle(port, args.idle, proc.pid, args.cold, args.idle_chargers)
        )
        chargers = our_chargers(args.chargers)
        warm_up(f"ws://127.0.0.1:{port}/ocpp/", chargers, args, proc.pid)
        scenarios = []
        for client in args.clients:
            for version in args.versions:
                for rate in args.rates:
                    for _ in range(args.reps):
                        result = paced(
                            f"ws://127.0.0.1:{port}/ocpp/", chargers, client, version, rate,
                            args.seconds, proc.pid,
                        )  # fmt: skip
                        print(json.dumps(result), flush=True)
                        scenarios.append(result)
        return {"idle": idle, "scenarios": scenarios}
    finally:
        proc.terminate()  # our own server process, by its pid
        proc.wait(timeout=30)


_FIGURES = ("per_s", "p50_ms", "p99_ms", "server_cpu_us_per_msg", "client_cpu_us_per_msg")


def medians(scenarios: list[dict[str, Any]]) -> dict[tuple[str, str, float], dict[str, Any]]:
    """Per (client, version, rate): the median of each figure over the runs, and the runs' sum
    of lost and twice-answered calls."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = collections.defaultdict(list)
    for s in scenarios:
        groups[(s["client"], s["version"], s["rate"])].append(s)
    return {
        key: {
            **{k: statistics.median(r[k] for r in runs) for k in _FIGURES},
            "p99_runs": [round(r["p99_ms"], 2) for r in runs],
            "lost": sum(r["lost"] for r in runs),
            "twice": sum(r["answered_twice"] for r in runs),
            "N": runs[0]["N"],
        }
        for key, runs in groups.items()
    }


def summarize(results: dict[str, Any], base: dict[str, Any] | None) -> None:
    ours = medians(results["scenarios"])
    theirs = medians(base["scenarios"]) if base else {}
    print(
        "\n| client | version | N | offered/s | achieved/s | p50 ms | p99 ms (runs) | server CPU"
        " µs/msg | client CPU µs/msg | lost | twice | baseline p99 ms | p99 ÷ baseline |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (client, version, rate), m in [*ours.items(), *(((c, "baseline", r), m) for (c, _, r),
                                                       m in theirs.items())]:  # fmt: skip
        b = theirs.get((client, "1.6", rate)) if version != "baseline" else None
        print(
            f"| {client} | {version} | {m['N']} | {rate:.0f} | {m['per_s']:.0f} | "
            f"{m['p50_ms']:.2f} | {m['p99_ms']:.2f} ({', '.join(map(str, m['p99_runs']))}) | "
            f"{m['server_cpu_us_per_msg']:.0f} | {m['client_cpu_us_per_msg']:.0f} | "
            f"{m['lost']} | {m['twice']} | "
            + (f"{b['p99_ms']:.2f} | {m['p99_ms'] / b['p99_ms']:.2f} |" if b else "— | — |")
        )
    idle = results["idle"]
    print(
        f"\nidle: {idle['idle_connections']} connections, "
        f"{idle['server_kib_per_idle_connection']:.1f} KiB each; "
        f"accepted in {idle['accept_s']:.2f} s (first contact {idle['first_contact_s']:.2f} s); "
        f"cold handshake {idle['cold_handshake_ms']:.0f} ms"
    )
    if base and base.get("idle"):
        print(
            f"baseline idle: {base['idle']['server_kb_per_conn']:.1f} KiB per connection; "
            f"its client connected {base['idle']['n']} in {base['idle']['connect_line']}"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="1 000 chargers, 5 000 idle connections"
    )
    parser.add_argument("--chargers", type=int, default=200)
    parser.add_argument("--rates", default="200,1000")
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--versions", default="1.6,2.0.1")
    parser.add_argument(
        "--clients", default="raw,lib", help="raw frames and/or the ocpp library (ocpp_paced.py)"
    )
    parser.add_argument("--out", type=Path, help="write every run's figures there (JSON)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--baseline", type=Path, help="scratch copy of ../shared/baselines")
    args = parser.parse_args()
    if args.full:
        args.chargers, args.idle = max(args.chargers, 1000), max(args.idle, 5000)
    args.rates = [int(r) for r in args.rates.split(",")]
    args.versions = args.versions.split(",")
    args.clients = args.clients.split(",")
    args.idle_chargers = max(args.chargers, args.idle)
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        migrate.upgrade(url)
        t0 = time.perf_counter()
        asyncio.run(build(url, args.idle_chargers, args.cold))
        print(
            f"built {args.idle_chargers} chargers/drivers in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        results = run(args, url)
    base = baseline(args.baseline, args) if args.baseline else None
    if args.out:
        args.out.write_text(json.dumps({"ours": results, "baseline": base}, indent=1))
    summarize(results, base)


if __name__ == "__main__":
    main()
