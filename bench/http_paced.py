"""Keep-alive HTTP/1.1 load on ``POST /api/v1/decisions`` from a process of its own.

Paced: each of CONNS connections sends one request every CONNS/RATE seconds (phases spread),
as the baselines' ``http_paced.py`` loads the bare endpoint; RATE 0: as fast as answers come.
Latency is from the actual send to the whole response; how late each send was against its
schedule is reported apart (``client_lag_p99_ms``): if it grows, the client fell behind, not
the server. Its own process, with almost nothing imported and the garbage collector's
start-up frozen, so a collection of the benchmark's data never stalls the schedule. Bounded by
SECONDS and MAX_N. Prints one JSON object.

    python bench/http_paced.py PORT CONNS RATE SECONDS MAX_N BODIES TOKEN
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


def requests(bodies: Path, port: int, token: str) -> list[bytes]:
    out = []
    for line in bodies.read_text().splitlines():
        body = line.encode()
        out.append(
            b"POST /api/v1/decisions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (port, token.encode(), len(body), body)
        )
    return out


async def load(
    port: int, reqs: list[bytes], conns: int, rate: float, seconds: float, max_n: int
) -> dict[str, Any]:
    lat: list[float] = []
    lag: list[float] = []
    bad = 0
    pcs = time.perf_counter
    t_start = pcs() + 0.2
    t_end = t_start + seconds
    per_conn = max_n // conns

    async def worker(idx: int) -> None:
        nonlocal bad
        r, w = await asyncio.open_connection("127.0.0.1", port)
        period = conns / rate if rate else 0.0
        nxt = t_start + period * idx / conns
        k = idx
        for _ in range(per_conn):
            if rate:
                d = nxt - pcs()
                if d > 0:
                    await asyncio.sleep(d)
            if pcs() >= t_end:
                break
            a = pcs()
            if rate:
                lag.append(a - nxt)
            w.write(reqs[k % len(reqs)])
            k += conns
            head = await r.readuntil(b"\r\n\r\n")
            i = head.lower().find(b"content-length:")
            await r.readexactly(int(head[i + 15 : head.index(b"\r\n", i)]))
            lat.append(pcs() - a)
            if head[9:12] != b"200":
                bad += 1
            nxt += period
        w.close()

    await asyncio.gather(*(worker(i) for i in range(conns)))
    elapsed = pcs() - t_start
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
    return res


def main() -> None:
    port, conns, rate, seconds, max_n = sys.argv[1:6]
    reqs = requests(Path(sys.argv[6]), int(port), sys.argv[7])
    gc.collect()
    gc.freeze()
    result = asyncio.run(load(int(port), reqs, int(conns), float(rate), float(seconds), int(max_n)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
