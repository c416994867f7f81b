"""Keep-alive HTTP/1.1 load from a process of its own: paced (fixed offered rate) or closed loop.

Paced: each of CONNS connections sends one request every CONNS/RATE seconds (phases spread),
as the baselines' ``http_paced.py`` loads the bare endpoint; RATE 0: as fast as answers come.
Latency is from the actual send to the whole response; how late each send was against its
schedule is reported apart (``client_lag_p99_ms``): if it grows, the client fell behind, not
the server.

WARMUP seconds at the same rate come first and are reported apart (``warmup``), as wrk2 leaves
out its calibration: a machine that was idle answers its first requests slowly (on this one a
PostgreSQL query right after two idle seconds took 4-12 ms against 0.3 ms), and that start is
not the steady rate a p99 "at 1 000/s" is about. ``p99_from_start_ms`` counts every request,
warm-up included, as the baselines' client does.

Its own process, with almost nothing imported and the garbage collector's start-up frozen, so a
collection of the benchmark's data never stalls the schedule. Bounded by SECONDS and MAX_N.
REQUESTS is a file of whole HTTP requests, one JSON string per line, sent in turn. Prints one
JSON object.

    python bench/http_paced.py PORT CONNS RATE SECONDS MAX_N REQUESTS [WARMUP]
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any


def pct(values: list[float], p: float) -> float:
    """Same nearest-rank percentile as the baselines' decide.pct."""
    k = min(len(values) - 1, max(0, round(p / 100.0 * len(values)) - 1))
    return values[k]


def read_requests(path: Path) -> list[bytes]:
    return [json.loads(line).encode("latin-1") for line in path.read_text().splitlines()]


async def load(
    port: int,
    reqs: list[bytes],
    conns: int,
    rate: float,
    seconds: float,
    max_n: int,
    warmup: float,
) -> dict[str, Any]:
    lat: list[float] = []
    warm_lat: list[float] = []
    lag: list[float] = []
    bad = 0
    pcs = time.perf_counter
    t_start = pcs() + 0.2
    t_measured = t_start + warmup
    t_end = t_measured + seconds
    per_conn = max_n // conns

    async def worker(idx: int) -> None:
        nonlocal bad
        r, w = await asyncio.open_connection("127.0.0.1", port)
        period = conns / rate if rate else 0.0
        nxt = t_start + period * idx / conns
        k = idx
        sent = 0
        while sent < per_conn:
            if rate:
                d = nxt - pcs()
                if d > 0:
                    await asyncio.sleep(d)
            a = pcs()
            if a >= t_end:
                break
            measured = a >= t_measured
            if rate and measured:
                lag.append(a - nxt)
            w.write(reqs[k % len(reqs)])
            k += conns
            head = await r.readuntil(b"\r\n\r\n")
            i = head.lower().find(b"content-length:")
            await r.readexactly(int(head[i + 15 : head.index(b"\r\n", i)]))
            if measured:
                lat.append(pcs() - a)
                sent += 1
                if head[9:12] != b"200":
                    bad += 1
            else:
                warm_lat.append(pcs() - a)
            nxt += period
        w.close()

    await asyncio.gather(*(worker(i) for i in range(conns)))
    elapsed = pcs() - t_measured
    from_start = sorted(lat + warm_lat)
    lat.sort()
    lag.sort()
    res: dict[str, Any] = {
        "conns": conns,
        "offered_per_s": rate or None,
        "n": len(lat),
        "per_s": len(lat) / elapsed,
        "non200": bad,
        "p50_ms": pct(lat, 50) * 1e3,
        "p99_ms": pct(lat, 99) * 1e3,
        "max_ms": lat[-1] * 1e3,
    }
    if lag:
        res["client_lag_p99_ms"] = pct(lag, 99) * 1e3
    if warm_lat:
        warm_lat.sort()
        res["warmup"] = {"s": warmup, "n": len(warm_lat), "max_ms": warm_lat[-1] * 1e3}
        res["p99_from_start_ms"] = pct(from_start, 99) * 1e3
    return res


def main() -> None:
    port, conns, rate, seconds, max_n = sys.argv[1:6]
    reqs = read_requests(Path(sys.argv[6]))
    warmup = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    gc.collect()
    gc.freeze()
    result = asyncio.run(
        load(int(port), reqs, int(conns), float(rate), float(seconds), int(max_n), warmup)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
