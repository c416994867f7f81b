"""Decision benchmark: the pure core, loader + core, and HTTP, next to the baselines.

Builds the synthetic network of the shared baselines (``gen.py``: 1 000 000 users, 100 000
chargers, 20 000 groups, 5 000 000 memberships, 200 000 scope links at DIV=1) in *our* schema,
with two tokens per user (2 000 000 tokens), bulk-loaded (COPY on PostgreSQL, executemany on
SQLite; never the ORM), then measures on the baselines' fixed query stream:

(a) ``decide(facts)``, the pure core, on facts the loader fetched: the decision alone (what
    OCPP ``Authorize`` uses; the trace is derived only when read), and the decision with its
    trace read (``decide(facts).trace``, what the API, the console and the CLI use);
(b) ``decide_for_token`` (loader + core) on one connection, SQLite and PostgreSQL;
(c) ``POST /api/v1/decisions`` with a real bearer token against uvicorn (one worker) on
    loopback, served from PostgreSQL and from SQLite: fixed-rate runs (1 000/s, 1 500/s) for
    latency, each after a second's warm-up at its rate (``http_paced.py``), and a saturating
    run (wrk) for the maximum rate.

The baselines run in the same invocation, in a scratch copy of ../shared/baselines (never in
the repository): exp1 (bare dict decision), load_sql + exp2 (one bare SQL query), exp3 (pycasbin
FastEnforcer), exp5 (the bare FastAPI endpoint under wrk and its own fixed-rate client) and the
same bare endpoint under our fixed-rate client, warm-up and all. Every run is bounded in count
and time.

    python bench/decision_bench.py                 # DIV=100, both databases, HTTP, baselines
    python bench/decision_bench.py --div 10        # 1/10 scale
    python bench/decision_bench.py --div 1         # full scale (long: load takes many minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import importlib.util
import io
import json
import os
import platform
import pstats
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chargegroups import migrate  # noqa: E402
from chargegroups.database import (  # noqa: E402
    Reads,
    create_engine,
    create_read_pool,
    create_sessionmaker,
)
from chargegroups.decision import loader  # noqa: E402
from chargegroups.decision.rules import DecisionFacts, decide  # noqa: E402
from chargegroups.decision.service import decide_for_token  # noqa: E402
from chargegroups.kit.secrets import hash_token  # noqa: E402
from chargegroups.models import Charger  # noqa: E402

# The shared reference programs sit beside the checkout (../shared/baselines); override with
# BASELINES_DIR.
BASELINES = Path(os.environ.get("BASELINES_DIR", ROOT.parent / "shared" / "baselines"))
CREATED = "2025-01-01 00:00:00"
AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OP = "op-bench"
PLAN = "rp-bench"
ADMIN_TOKEN = "cg_at_benchmark-admin-token"  # noqa: S105  (a throwaway bench database)
TERMS = json.dumps(
    {
        "currency": "EUR",
        "vat_percent": "21",
        "energy": {"kind": "fixed", "price_per_kwh": "0.40"},
        "connection_fee": "1.00",
    }
)


def pct(values: Sequence[float], p: float) -> float:
    """Same nearest-rank percentile as the baselines' decide.pct."""
    k = min(len(values) - 1, max(0, round(p / 100.0 * len(values)) - 1))
    return values[k]


def summary(lat_ns: list[int], elapsed_s: float) -> dict[str, float]:
    lat_ns.sort()
    return {
        "n": len(lat_ns),
        "per_s": len(lat_ns) / elapsed_s,
        "p50_us": pct(lat_ns, 50) / 1000,
        "p99_us": pct(lat_ns, 99) / 1000,
        "p999_us": pct(lat_ns, 99.9) / 1000,
    }


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median of the runs, per figure (the machine is shared and noisy)."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


# --------------------------------------------------------------------------- baselines


def run(
    cmd: list[str], cwd: Path, log: Path, timeout: float, env: dict[str, str] | None = None
) -> None:
    print("$", " ".join(cmd), flush=True)
    with log.open("a") as out:
        subprocess.run(  # noqa: S603  (our own fixed commands)
            cmd,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
        )


def baselines(scratch: Path, div: int, n: int, skip: bool) -> dict[str, Any]:
    here = scratch / "baselines"
    if not here.exists():
        shutil.copytree(BASELINES, here)
    py = sys.executable
    log = scratch / "baselines.log"
    if not (here / "data" / f"s{div}" / "queries.csv").exists():
        run([py, "gen.py", str(div)], here, log, 3600)
    if skip:
        return {}
    missing = [m for m in ("psutil", "casbin") if importlib.util.find_spec(m) is None]
    if missing:  # the baselines' own needs, deliberately not the project's dependencies
        print(f"baselines skipped: pip install {' '.join(missing)} to run them", flush=True)
        return {}
    run([py, "exp1_inmem.py", str(div)], here, log, 1800)
    run([py, "load_sql.py", str(div), "both"], here, log, 3600)
    run([py, "exp2_sql.py", str(div), str(n)], here, log, 1800)
    run([py, "exp3_casbin.py", str(div), "fast", "20000", "10"], here, log, 1800)
    res = here / "results"
    exp1 = json.loads((res / f"exp1_s{div}_set.json").read_text())
    exp2 = json.loads((res / f"exp2_s{div}.json").read_text())
    exp3 = json.loads((res / f"exp3_s{div}_fast.json").read_text())
    med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
    return {
        "dict_tok": {
            "per_s": med(exp1["runs"], "tok_per_s"),
            "p50_us": med(exp1["runs"], "tok_p50_us"),
            "p99_us": med(exp1["runs"], "tok_p99_us"),
        },
        "sql": {k: {m: v["median"] for m, v in s.items()} for k, s in exp2["summary"].items()},
        "casbin_fast": {
            "load_s": exp3["kinds"]["fast"]["load_s"],
            "rss_delta_mb": exp3["kinds"]["fast"]["rss_delta_mb"],
            **{m: v["median"] for m, v in exp3["kinds"]["fast"]["summary"].items()},
        },
    }


def baseline_http(scratch: Path, div: int, seconds: float) -> dict[str, Any]:
    """The baselines' bare FastAPI endpoint (an in-memory decision, no auth, no database) under
    the same loads as ours: wrk saturating 16 connections, and its own fixed-rate client on 20
    connections at our offered rates. What one uvicorn worker gives before any of our code."""
    here = scratch / "baselines"
    paced = ",".join(f"20:{rate}" for rate in PACED_RATES)
    run([sys.executable, "exp5_http.py", str(div), "1", "16", str(int(seconds))], here,
        scratch / "baselines.log", 1800, env={"PACED": paced})  # fmt: skip
    config = json.loads((here / "results" / f"exp5_s{div}_paced.json").read_text())["configs"][0]
    found = config["conns"][0]
    out: dict[str, Any] = {
        k: found[k]["median"] for k in ("per_s", "p50_ms", "p99_ms", "server_cpu_us_per_req")
    }
    for run_at in config["paced"]:
        out[f"paced_{int(run_at['rate'])}"] = {
            k: run_at[k]["median"] for k in ("achieved_per_s", "p50_ms", "p99_ms")
        }
    return out


# --------------------------------------------------------------------------- our schema


def read_csv(path: Path) -> Iterator[list[str]]:
    with path.open() as f:
        yield from csv.reader(f)


class Network:
    """The baselines' CSVs mapped onto our tables, as row generators (column order below)."""

    COLUMNS: dict[str, tuple[str, ...]] = {
        "operators": (
            "id", "slug", "name", "default_rate_plan_id", "self_signup_enabled",
            "auth_cache_ttl_seconds", "timezone", "ocpi_country_code", "ocpi_party_id",
            "created_at",
        ),
        "rate_plans": (
            "id", "operator_id", "name", "name_normalized", "currency", "current_version",
            "created_at",
        ),
        "rate_plan_versions": ("id", "rate_plan_id", "version", "terms", "created_at"),
        "accounts": (
            "id", "operator_id", "name", "name_normalized", "is_default",
            "admins_may_create_groups", "created_at",
        ),
        "users": (
            "id", "operator_id", "account_id", "email", "email_normalized", "name", "blocked",
            "parent_id_tag", "created_at",
        ),
        "grants": ("id", "operator_id", "user_id", "role", "scope_id", "created_at"),
        "access_tokens": ("id", "operator_id", "user_id", "token_hash", "kind", "created_at"),
        "driver_tokens": (
            "id", "operator_id", "user_id", "uid", "uid_normalized", "type", "blocked",
            "created_at",
        ),
        "user_groups": (
            "id", "operator_id", "name", "name_normalized", "description", "scope_kind",
            "account_id", "scope_key", "auto_assign", "financial_owner_id", "pays_at", "version",
            "created_at",
        ),
        "group_discounts": (
            "rate_plan_id", "group_id", "operator_id", "percent", "free", "created_at",
        ),
        "group_memberships": ("id", "operator_id", "group_id", "user_id", "source", "created_at"),
        "chargers": (
            "id", "operator_id", "charge_point_id", "name", "access_mode", "connectors",
            "password_hash", "created_at",
        ),
        "charger_scope": ("charger_id", "group_id", "operator_id", "created_at"),
    }  # fmt: skip

    def __init__(self, data: Path, div: int) -> None:
        self.data = data
        self.chargers = 100_000 // div
        self.users = sum(1 for _ in read_csv(data / "users.csv"))
        self.accounts = max(1, self.users // 1000)

    def rows(self, table: str) -> Iterator[tuple[Any, ...]]:
        d = self.data
        if table == "operators":
            yield (OP, "bench", "Bench", PLAN, False, 900, "UTC", "NL", "CGR", CREATED)
        elif table == "rate_plans":
            yield (PLAN, OP, "Bench", "bench", "EUR", 1, CREATED)
        elif table == "rate_plan_versions":
            yield ("rpv-bench", PLAN, 1, TERMS, CREATED)
        elif table == "accounts":
            for a in range(self.accounts):
                yield (f"a{a}", OP, f"Account {a}", f"account {a}", a == 0, False, CREATED)
        elif table == "users":
            for u, _ in read_csv(d / "users.csv"):
                yield (
                    f"u{u}", OP, f"a{int(u) % self.accounts}", f"u{u}@bench.example",
                    f"u{u}@bench.example", f"User {u}", False, f"P{int(u):019d}", CREATED,
                )  # fmt: skip
        elif table == "grants":
            yield ("gr-admin", OP, "u0", "operator_admin", OP, CREATED)
        elif table == "access_tokens":
            yield ("at-admin", OP, "u0", hash_token(ADMIN_TOKEN), "login", CREATED)
        elif table == "driver_tokens":
            for u, token in read_csv(d / "users.csv"):
                for suffix in ("", "02"):  # two tokens per user: card and app
                    uid = token + suffix
                    yield (f"t{u}:{suffix}", OP, f"u{u}", uid, uid.lower(), "rfid", False, CREATED)
        elif table == "user_groups":
            for g, _, payer in read_csv(d / "groups.csv"):
                account = f"a{int(g) % self.accounts}" if int(g) % 2 else None
                owner = f"u{int(payer) % self.users}" if payer else None
                h, m, sec = int(g) // 3600 % 24, int(g) // 60 % 60, int(g) % 60
                created = f"2025-01-01 {h:02d}:{m:02d}:{sec:02d}"  # distinct: D6 tie order
                yield (
                    f"g{g}", OP, f"Group {g}", f"group {g}", "",
                    "account" if account else "all_accounts", account, account or "*", False,
                    owner, "all_chargers", 1, created,
                )  # fmt: skip
        elif table == "group_discounts":
            for g, pct_, _ in read_csv(d / "groups.csv"):
                if int(pct_) > 0:
                    yield (PLAN, f"g{g}", OP, pct_, False, CREATED)
        elif table == "group_memberships":
            for i, (u, g) in enumerate(read_csv(d / "memberships.csv")):
                yield (f"m{i}", OP, f"g{g}", f"u{u}", "import", CREATED)
        elif table == "chargers":
            for c in range(self.chargers):
                yield (f"c{c}", OP, f"CP{c}", f"Charger {c}", "private", 2, "x", CREATED)
        elif table == "charger_scope":
            for c, g in read_csv(d / "scope.csv"):
                yield (f"c{c}", f"g{g}", OP, CREATED)

    def load_sqlite(self, path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        for table, cols in self.COLUMNS.items():
            marks = ",".join("?" * len(cols))
            db.executemany(
                f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})",  # noqa: S608
                self.rows(table),
            )
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()

    def load_postgres(self, dsn: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for table, cols in self.COLUMNS.items():
                with conn.cursor().copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as cp:
                    for row in self.rows(table):
                        cp.write_row(row)
            conn.execute("VACUUM ANALYZE")


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def build(kind: str, scratch: Path, div: int, pg_server: str, reuse: bool) -> tuple[str, float]:
    """Our database for this scale: its SQLAlchemy URL and the seconds the load took."""
    net = Network(scratch / "baselines" / "data" / f"s{div}", div)
    t0 = time.perf_counter()
    if kind == "sqlite":
        path = scratch / f"cg_s{div}.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        if reuse and path.exists():
            return url, 0.0
        for ext in ("", "-wal", "-shm"):
            Path(f"{path}{ext}").unlink(missing_ok=True)
        migrate.upgrade(url)
        net.load_sqlite(path)
    else:
        name = f"cg_bench_s{div}"
        url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
        admin = plain_dsn(make_url(pg_server).set(database="postgres").render_as_string(False))
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone()
            if reuse and exists:
                return url, 0.0
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        migrate.upgrade(url)
        net.load_postgres(plain_dsn(url))
    return url, time.perf_counter() - t0


def queries(scratch: Path, div: int, n: int) -> list[tuple[str, str]]:
    """(token uid, charger id) pairs of the baselines' fixed stream; odd ones use the 2nd token."""
    q = []
    for i, (_, token, c) in enumerate(
        read_csv(scratch / "baselines" / "data" / f"s{div}" / "queries.csv")
    ):
        q.append((token.lower() + ("02" if i % 2 else ""), f"c{c}"))
        if len(q) >= n:
            break
    return q


# --------------------------------------------------------------------------- (a) and (b)


def measure_core(facts: list[DecisionFacts], reps: int, with_trace: bool) -> dict[str, Any]:
    """(a) the core alone on the loaded facts; ``with_trace`` also reads each decision's trace."""
    pc = time.perf_counter_ns
    runs = []
    for _ in range(reps):
        lat = []
        t0 = time.perf_counter()
        if with_trace:
            for f in facts:
                a = pc()
                decide(f).trace  # noqa: B018  (reading it is what is measured)
                lat.append(pc() - a)
        else:
            for f in facts:
                a = pc()
                decide(f)
                lat.append(pc() - a)
        runs.append(summary(lat, time.perf_counter() - t0))
    core = best_of(runs)
    core["groups_per_user_mean"] = statistics.fmean(len(f.groups) for f in facts)
    return core


async def measure_direct(
    url: str, qs: list[tuple[str, str]], reps: int, profile: Path | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(b) loader + core on one connection: on the read pool (what ``POST /decisions`` and OCPP
    ``Authorize`` run) and in a session (a decision inside a transaction, as a transaction's
    start takes it); (a) the core alone on the loaded facts, without and with its trace."""
    engine = create_engine(url)
    reads = create_read_pool(url, size=1)
    chargers = {c: Charger(id=c, operator_id=OP) for _, c in qs}
    pc = time.perf_counter_ns
    out: dict[str, Any] = {}
    facts = []
    allowed = 0
    for uid, c in qs:  # warm-up, and the facts for (a)
        key = loader.ChargerKey(OP, charger_id=c)
        f = await loader.load_for_token(reads, charger=key, token_uid=uid, at=AT)
        assert f is not None
        facts.append(f)
        allowed += decide(f).allowed
    out["allowed_pct"] = 100.0 * allowed / len(qs)

    async def passes(db: Reads) -> list[dict[str, float]]:
        runs = []
        for _ in range(reps):
            lat = []
            t0 = time.perf_counter()
            for uid, c in qs:
                a = pc()
                await decide_for_token(db, charger=chargers[c], token_uid=uid, at=AT)
                lat.append(pc() - a)
            runs.append(summary(lat, time.perf_counter() - t0))
        return runs

    out["runs"] = await passes(reads)
    out["loader_core"] = best_of(out["runs"])
    async with create_sessionmaker(engine)() as session:
        out["loader_core_session"] = best_of(await passes(session))
    if profile is not None:
        prof = cProfile.Profile()
        prof.enable()
        for uid, c in qs:
            await decide_for_token(reads, charger=chargers[c], token_uid=uid, at=AT)
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(25)
        profile.write_text(text.getvalue())  # noqa: ASYNC240  (after the timed part)
    await reads.close()
    await engine.dispose()
    return out, measure_core(facts, reps, False), measure_core(facts, reps, True)


# --------------------------------------------------------------------------- (c) HTTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_bodies(qs: list[tuple[str, str]], scratch: Path) -> Path:
    """The query stream as request bodies, one JSON line each (for wrk)."""
    bodies = scratch / "wrk_bodies.txt"
    bodies.write_text(
        "".join(json.dumps({"charger_id": c, "token_uid": uid}) + "\n" for uid, c in qs)
    )
    return bodies


def write_requests(raw: Iterable[bytes], path: Path) -> Path:
    """Whole HTTP requests, one JSON string per line (for http_paced.py)."""
    path.write_text("".join(json.dumps(r.decode("latin-1")) + "\n" for r in raw))
    return path


def decision_requests(bodies: Path, port: int) -> Iterator[bytes]:
    for line in bodies.read_text().splitlines():
        body = line.encode()
        yield (
            b"POST /api/v1/decisions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (port, ADMIN_TOKEN.encode(), len(body), body)
        )


# Each fixed-rate run starts with this long at its rate, reported apart (see http_paced.py).
PACED_WARMUP_S = 1.0


def http_paced(
    port: int,
    requests: Path,
    conns: int,
    rate: float,
    seconds: float,
    max_n: int,
    warmup: float = 0.0,
) -> dict[str, Any]:
    """``bench/http_paced.py`` in a process of its own (see there); rate 0: closed loop."""
    cmd = [
        sys.executable, str(ROOT / "bench" / "http_paced.py"), str(port), str(conns), str(rate),
        str(seconds), str(max_n), str(requests), str(warmup),
    ]  # fmt: skip
    timeout = seconds + warmup + 60
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)  # noqa: S603
    result: dict[str, Any] = json.loads(done.stdout)
    return result


_WRK_SCRIPT = """
local bodies = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  i = math.random(#bodies)
end
function request()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", "/api/v1/decisions", {
    ["Authorization"] = "Bearer %s", ["Content-Type"] = "application/json"}, bodies[i])
end
"""


def parse_wrk(text: str) -> dict[str, Any]:
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    found = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if found is None:
        raise RuntimeError(f"wrk said: {text}")
    out: dict[str, Any] = {"per_s": float(found.group(1))}
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        assert m is not None, text
        out[f"p{p}_ms"] = float(m.group(1)) * scale[m.group(2)]
    m = re.search(r"(\d+) requests in", text)
    out["n"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non200"] = int(m.group(1)) if m else 0
    return out


def wrk_saturate(port: int, bodies: Path, scratch: Path, conns: int, seconds: float):
    """As many decisions as one worker answers: wrk (C, one thread) keeps ``conns`` keep-alive
    connections busy, as the baselines' FastAPI run does, so the load generator takes little
    of the two cores."""
    script = scratch / "wrk_decisions.lua"
    script.write_text(_WRK_SCRIPT % ADMIN_TOKEN)
    cmd = [
        "wrk", "-t1", f"-c{conns}", f"-d{int(seconds)}s", "--latency", "-s", str(script),
        f"http://127.0.0.1:{port}", "--", str(bodies),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)  # noqa: S603
    return {"conns": conns, "client": "wrk", **parse_wrk(done.stdout)}


# Offered rates of the fixed-rate runs (20 connections); the goal is stated at 1 000/s.
PACED_RATES = (1000, 1500)


def server_cpu_s(pid: int) -> float:
    times = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(times[11]) + int(times[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, server: subprocess.Popen[Any], seconds: float) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.2)


def paced_runs(
    pid: int, port: int, requests: Path, rate: float, seconds: float, reps: int
) -> dict[str, Any]:
    """``reps`` fixed-rate runs of ``seconds`` (after their warm-up) against the server ``pid``:
    medians, and every run with the server's CPU per request."""
    results = []
    for _ in range(reps):
        cpu = server_cpu_s(pid)
        result = http_paced(
            port, requests, 20, rate, seconds, int(seconds * rate), warmup=PACED_WARMUP_S
        )
        answered = result["n"] + result.get("warmup", {}).get("n", 0)
        result["server_cpu_us_per_req"] = 1e6 * (server_cpu_s(pid) - cpu) / max(answered, 1)
        results.append(result)
    return summarize(results, ("p99_from_start_ms",))


def summarize(results: list[dict[str, Any]], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    figures = ("per_s", "p50_ms", "p99_ms", "server_cpu_us_per_req", *extra)
    return {
        **{k: statistics.median(r[k] for r in results) for k in figures},
        "n": sum(r["n"] for r in results),
        "non200": sum(r["non200"] for r in results),
        "runs": results,
    }


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) / 1024 if found else float("nan")


def measure_http(
    url: str, qs: list[tuple[str, str]], seconds: float, scratch: Path, reps: int
) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "CHARGEGROUPS_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    # As `chargegroups serve` runs it (cli.run_server: one worker, its garbage-collection
    # settings), with uvloop and httptools named and no access log.
    serve = (
        "from chargegroups.app import create_app; from chargegroups.cli import run_server; "
        f"run_server(create_app(), host='127.0.0.1', port={port}, log_level='warning', "
        "loop='uvloop', http='httptools', access_log=False)"
    )
    cmd = [sys.executable, "-c", serve]
    server = subprocess.Popen(cmd, env=env)  # noqa: S603  (our own fixed command)
    try:
        wait_for_port(port, server, 60)
        bodies = write_bodies(qs, scratch)
        requests = write_requests(decision_requests(bodies, port), scratch / "requests.txt")
        # As many connections as the runs below: each one of the read pool opens, and prepares
        # the decision statement, on its first use.
        warm = http_paced(port, requests, 20, 0, 5, 4000)
        assert warm["non200"] == 0, warm
        out: dict[str, Any] = {
            f"paced_{rate}": paced_runs(server.pid, port, requests, rate, seconds, reps)
            for rate in PACED_RATES
        }
        saturated = []
        for _ in range(reps):  # as the baselines' exp5 repeats each load
            cpu = server_cpu_s(server.pid)
            result = wrk_saturate(port, bodies, scratch, 16, seconds)
            result["server_cpu_us_per_req"] = (
                1e6 * (server_cpu_s(server.pid) - cpu) / max(result["n"], 1)
            )
            saturated.append(result)
        out["saturated"] = summarize(saturated)
        out["server_rss_mb"] = rss_mb(server.pid)
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def bare_endpoint_paced(scratch: Path, div: int, seconds: float, reps: int) -> dict[str, Any]:
    """The baselines' bare FastAPI endpoint (started as their exp5 starts it) under *our*
    fixed-rate client with its warm-up, on the same query stream: the like-for-like row for
    ours (the baselines' own client counts its start-up)."""
    here = scratch / "baselines"
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "http_app:app", "--host", "127.0.0.1", "--port",
        str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", "--backlog", "4096",
    ]  # fmt: skip
    env = {**os.environ, "PERF_DIV": str(div), "PERF_GC_FREEZE": "0"}
    server = subprocess.Popen(cmd, cwd=here, env=env)  # noqa: S603  (their fixed command)
    try:
        wait_for_port(port, server, 600)  # it loads the whole network first
        raw = (
            b"GET /decision?user=%s&charger=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            % (u.encode(), c.encode())
            for u, _, c in read_csv(here / "data" / f"s{div}" / "queries.csv")
        )
        requests = write_requests(raw, scratch / "bare_requests.txt")
        warm = http_paced(port, requests, 20, 0, 5, 4000)
        assert warm["non200"] == 0, warm
        return {
            f"paced_{rate}": paced_runs(server.pid, port, requests, rate, seconds, reps)
            for rate in PACED_RATES
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


# --------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": os.getloadavg(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--div", type=int, default=100, help="scale divisor: 1 full, 10, 100 (default)")
    p.add_argument("--db", default="sqlite,pg", help="sqlite,pg (default both)")
    p.add_argument(
        "--pg-server",
        default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    p.add_argument("--queries", type=int, default=20000, help="queries per pass (default 20000)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--http-seconds", type=float, default=5.0, help="0 skips the HTTP runs")
    p.add_argument(
        "--http-db", default="pg,sqlite", help="the databases that serve HTTP (default both)"
    )
    p.add_argument("--skip-baselines", action="store_true")
    p.add_argument("--reuse", action="store_true", help="reuse our loaded databases if present")
    p.add_argument("--profile", action="store_true", help="cProfile one loader+core pass")
    p.add_argument("--scratch", type=Path, default=None, help="scratch dir (default: a new tmp)")
    args = p.parse_args()

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="cg-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"scratch {scratch}", flush=True)
    result: dict[str, Any] = {
        "machine": machine(),
        "div": args.div,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result["baselines"] = baselines(scratch, args.div, args.queries, args.skip_baselines)
    net = Network(scratch / "baselines" / "data" / f"s{args.div}", args.div)
    result["sizes"] = {
        "users": net.users,
        "tokens": 2 * net.users,
        "accounts": net.accounts,
        "groups": sum(1 for _ in read_csv(net.data / "groups.csv")),
        "memberships": sum(1 for _ in read_csv(net.data / "memberships.csv")),
        "chargers": net.chargers,
        "scope_links": sum(1 for _ in read_csv(net.data / "scope.csv")),
    }
    qs = queries(scratch, args.div, args.queries)
    urls = {}
    for kind in args.db.split(","):
        url, load_s = build(kind, scratch, args.div, args.pg_server, args.reuse)
        urls[kind] = url
        print(f"{kind}: loaded in {load_s:.1f}s", flush=True)
        prof = scratch / f"profile_{kind}.txt" if args.profile else None
        direct, core, core_trace = asyncio.run(measure_direct(url, qs, args.reps, prof))
        result[kind] = {"load_s": load_s, **direct}
        result["core"] = core
        result["core_trace"] = core_trace
        print(kind, json.dumps(direct["loader_core"]), flush=True)
    print("core", json.dumps(result["core"]), flush=True)
    print("core_trace", json.dumps(result["core_trace"]), flush=True)
    if args.http_seconds > 0:
        result["http"] = {
            kind: measure_http(urls[kind], qs, args.http_seconds, scratch, args.reps)
            for kind in args.http_db.split(",")
            if kind in urls
        }
        print("http", json.dumps(result["http"]), flush=True)
        if not args.skip_baselines:
            bare = baseline_http(scratch, args.div, args.http_seconds)
            bare["our_client"] = bare_endpoint_paced(
                scratch, args.div, args.http_seconds, args.reps
            )
            result["baselines"]["fastapi_bare"] = bare
            print("fastapi_bare", json.dumps(bare), flush=True)
    base = result["baselines"]
    if base:
        ratios: dict[str, float] = {
            "core_p99_over_dict_p99": result["core"]["p99_us"] / base["dict_tok"]["p99_us"],
            "core_trace_p99_over_dict_p99": (
                result["core_trace"]["p99_us"] / base["dict_tok"]["p99_us"]
            ),
        }
        if "pg" in result:
            ratios["pg_p99_over_bare_sql_p99"] = (
                result["pg"]["loader_core"]["p99_us"] / base["sql"]["pg_tok"]["p99_us"]
            )
        if "sqlite" in result:
            ratios["sqlite_p99_over_bare_sql_p99"] = (
                result["sqlite"]["loader_core"]["p99_us"] / base["sql"]["sqlite_tok"]["p99_us"]
            )
        if "pg" in result.get("http", {}) and "fastapi_bare" in base:
            ratios["http_per_s_over_fastapi_bare_per_s"] = (
                result["http"]["pg"]["saturated"]["per_s"] / base["fastapi_bare"]["per_s"]
            )
        result["ratios"] = ratios
        print("ratios", json.dumps(ratios), flush=True)
    out = scratch / f"decision_bench_s{args.div}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"results: {out}", flush=True)


if __name__ == "__main__":
    main()
