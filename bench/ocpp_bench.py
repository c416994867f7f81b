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
from ocpp.messages import MessageType, unpack
from ocpp.v16 import ChargePoint as Client16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as Client201
from ocpp.v201 import call as call201

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


def counting(base: type) -> type:
    """A library charge point that counts the answers to each of its calls (lost / twice)."""

    class Counting(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.answers: collections.Counter[str] = collections.Counter()

        async def route_message(self, raw: str) -> None:
            msg = unpack(raw)
            if msg.message_type_id != MessageType.Call:
                self.answers[msg.unique_id] += 1
                self._response_queue.put_nowait(msg)

    return Counting


Counting16 = counting(Client16)
Counting201 = counting(Client201)


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


async def paced(
    port: int, n: int, rate: float, seconds: float, version: str, pid: int
) -> dict[str, Any]:
    sockets, connect_s = await open_many(port, range(n), version)
    cls = Counting16 if version == "1.6" else Counting201
    cps = [cls(f"CP{i:06d}", ws, response_timeout=30) for i, ws in enumerate(sockets)]
    tasks = [asyncio.create_task(cp.start()) for cp in cps]
    server = psutil.Process(pid)
    lat: list[float] = []
    sent = errors = accepted = 0
    period = n / rate
    last_answer = 0.0
    stop_at = time.perf_counter() + seconds

    async def worker(i: int, cp: Any) -> None:
        nonlocal sent, errors, accepted, last_answer
        tokens = (f"TOK{i:06d}", f"UNKNOWN{i:06d}")  # half accepted, half unknown
        k = 0
        nxt = time.perf_counter() + period * i / n
        while True:
            delay = nxt - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            nxt += period
            if time.perf_counter() >= stop_at:
                return
            request = (
                call16.Authorize(id_tag=tokens[k & 1])
                if version == "1.6"
                else call201.Authorize(id_token={"id_token": tokens[k & 1], "type": "ISO14443"})
            )
            k += 1
            sent += 1
            a = time.perf_counter()
            try:
                answer = await cp.call(request, suppress=False)
            except Exception:
                errors += 1
                continue
            last_answer = time.perf_counter()
            lat.append(last_answer - a)
            info = answer.id_tag_info if version == "1.6" else answer.id_token_info
            accepted += info["status"] == "Accepted"

    cpu0 = sum(server.cpu_times()[:2])
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i, cp) for i, cp in enumerate(cps)))
    cpu = sum(server.cpu_times()[:2]) - cpu0
    twice = sum(c - 1 for cp in cps for c in cp.answers.values() if c > 1)
    for task in tasks:
        task.cancel()
    await close_all(sockets)
    await asyncio.sleep(SETTLE_SECONDS)
    lat.sort()
    return {
        "version": version,
        "N": n,
        "rate": rate,
        "sent": sent,
        "answered": len(lat),
        "lost": sent - len(lat),
        "errors": errors,
        "answered_twice": twice,
        "per_s": len(lat) / (last_answer - t0) if lat else 0.0,
        "p50_ms": pct(lat, 50) * 1e3,
        "p99_ms": pct(lat, 99) * 1e3,
        "accepted_pct": 100 * accepted / max(1, len(lat)),
        "server_cpu_us_per_msg": 1e6 * cpu / max(1, len(lat)),
        "connect_s": connect_s,
    }


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


def baseline(path: Path, n: int, rates: list[int], idle: int, seconds: float) -> dict[str, Any]:
    """The bare-library server of ../shared/baselines (a scratch copy), same load."""
    div = 100
    if not (path / "data").exists():
        subprocess.run([sys.executable, "gen.py", str(div)], cwd=path, check=True)  # noqa: S603
    env = {**os.environ, "PACED": ",".join(f"{n}:{r}" for r in rates), "IDLE_N": str(idle)}
    subprocess.run(  # noqa: S603
        [sys.executable, "exp4_ocpp.py", str(div), "default", "1", "2000", str(seconds)],
        cwd=path,
        env=env,
        check=True,
        timeout=3600,
    )
    return json.loads((path / "results" / f"exp4_s{div}_default.json").read_text())


# ------------------------------------------------------------------------------ main


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    proc, port = start_server(url)
    try:
        idle = await handshakes_and_idle(port, args.idle, proc.pid, args.cold, args.idle_chargers)
        scenarios = []
        for version in args.versions:
            for rate in args.rates:
                for _ in range(args.reps):
                    result = await paced(port, args.chargers, rate, args.seconds, version, proc.pid)
                    print(json.dumps(result), flush=True)
                    scenarios.append(result)
        return {"idle": idle, "scenarios": scenarios}
    finally:
        proc.terminate()  # our own server process, by its pid
        proc.wait(timeout=30)


def summarize(results: dict[str, Any], base: dict[str, Any] | None) -> None:
    print(
        "\n| version | N | offered/s | achieved/s | p50 ms | p99 ms | CPU µs/msg | lost | twice |"
        + (" p99 ÷ baseline |" if base else "")
    )
    print("|---|---|---|---|---|---|---|---|---|" + ("---|" if base else ""))
    groups: dict[tuple[str, float], list[dict[str, Any]]] = collections.defaultdict(list)
    for s in results["scenarios"]:
        groups[(s["version"], s["rate"])].append(s)
    for (version, rate), runs in groups.items():
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("per_s", "p50_ms", "p99_ms", "server_cpu_us_per_msg")
        }
        lost = sum(r["lost"] for r in runs)
        twice = sum(r["answered_twice"] for r in runs)
        row = (
            f"| {version} | {runs[0]['N']} | {rate:.0f} | {med['per_s']:.0f} | "
            f"{med['p50_ms']:.2f} | {med['p99_ms']:.2f} | {med['server_cpu_us_per_msg']:.0f} | "
            f"{lost} | {twice} |"
        )
        if base:
            b = next((x for x in base["scenarios"] if x["rate"] == rate), None)
            row += f" {med['p99_ms'] / b['p99_ms']['median']:.2f} |" if b else " — |"
        print(row)
    idle = results["idle"]
    print(
        f"\nidle: {idle['idle_connections']} connections, "
        f"{idle['server_kib_per_idle_connection']:.1f} KiB each; "
        f"accepted in {idle['accept_s']:.2f} s (first contact {idle['first_contact_s']:.2f} s); "
        f"cold handshake {idle['cold_handshake_ms']:.0f} ms"
    )
    if base:
        for s in base["scenarios"]:
            if s["rate"]:
                print(
                    f"baseline 1.6 N={s['N']} rate={s['rate']:.0f}: "
                    f"p50 {s['p50_ms']['median']:.2f} ms, "
                    f"p99 {s['p99_ms']['median']:.2f} ms, {s['per_s']['median']:.0f}/s, "
                    f"CPU {s['server_cpu_us_per_msg']['median']:.0f} µs/msg"
                )
        if "idle" in base:
            print(f"baseline idle: {base['idle']['server_kb_per_conn']:.1f} KiB per connection")


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
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--baseline", type=Path, help="scratch copy of ../shared/baselines")
    args = parser.parse_args()
    if args.full:
        args.chargers, args.idle = max(args.chargers, 1000), max(args.idle, 5000)
    args.rates = [int(r) for r in args.rates.split(",")]
    args.versions = args.versions.split(",")
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
        results = asyncio.run(run(args, url))
    base = None
    if args.baseline:
        base = baseline(args.baseline, args.chargers, args.rates, args.idle, args.seconds)
    summarize(results, base)


if __name__ == "__main__":
    main()
