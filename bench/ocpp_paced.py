"""N charge points sending Authorize at a fixed total rate, from a process of its own.

Two clients, the same schedule (each charge point one call every N/RATE s, phases spread):

* ``lib``: the ``ocpp`` library's ChargePoint, schema validation on, as the baselines'
  ``ocpp_client.py``: a realistic charger, but at 1 000/s it needs about as much CPU as the
  server it loads, on the same two cores;
* ``raw``: pre-built OCPP-J frames over ``websockets`` and one ``json.loads`` per answer, as the
  baselines' ``raw_client.py`` (closed loop only) does, so that the server, not the client, is
  what is measured.

Either counts, per call, the answer with the call's own id: none within the run (lost) or a
second one (answered twice). The garbage collector's start-up is frozen before the load starts.
Prints one JSON object.

    python bench/ocpp_paced.py TARGET.json   # {"client", "version", "url", "chargers": [...],
                                             #  "rate", "seconds"}; see ocpp_bench.py
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

import psutil
import websockets


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def frame(version: str, unique_id: str, id_tag: str) -> str:
    payload = (
        {"idTag": id_tag}
        if version == "1.6"
        else {"idToken": {"idToken": id_tag, "type": "ISO14443"}}
    )
    return json.dumps([2, unique_id, "Authorize", payload])


async def connect(url: str, charger: dict[str, Any], version: str) -> Any:
    headers = {"Authorization": charger["authorization"]} if charger.get("authorization") else {}
    return await websockets.connect(
        url + charger["path"],
        subprotocols=[f"ocpp{version}"],
        additional_headers=headers,
        open_timeout=120,
        ping_interval=None,
        max_queue=16,
    )


class Raw:
    """Authorize as frames written by hand; an answer is matched by its unique id."""

    def __init__(self, ws: Any, version: str, name: str) -> None:
        self.ws, self.version, self.name = ws, version, name
        self.k = 0
        self.twice = 0

    async def authorize(self, id_tag: str) -> str:
        self.k += 1
        unique_id = f"{self.name}-{self.k}"
        async with asyncio.timeout(30):  # as the library client's response_timeout
            await self.ws.send(frame(self.version, unique_id, id_tag))
            while True:
                answer = json.loads(await self.ws.recv())
                if answer[1] == unique_id:
                    break
                self.twice += 1  # an answer to an earlier call, which was already answered
        if answer[0] != 3:
            raise RuntimeError(f"CallError: {answer}")
        info = answer[2]["idTagInfo" if self.version == "1.6" else "idTokenInfo"]
        return str(info["status"])


class Library:
    """Authorize through the ``ocpp`` library's ChargePoint (schema validation on)."""

    def __init__(self, ws: Any, version: str, name: str) -> None:
        from ocpp.messages import MessageType, unpack

        if version == "1.6":
            from ocpp.v16 import ChargePoint, call
        else:
            from ocpp.v201 import ChargePoint, call
        answers: dict[str, int] = {}

        class Counting(ChargePoint):  # type: ignore[misc, valid-type]
            async def route_message(self, raw: str) -> None:
                msg = unpack(raw)
                if msg.message_type_id != MessageType.Call:
                    answers[msg.unique_id] = answers.get(msg.unique_id, 0) + 1
                    self._response_queue.put_nowait(msg)

        self.version, self.call, self.answers = version, call, answers
        self.cp = Counting(name, ws, response_timeout=30)
        self.task = asyncio.create_task(self.cp.start())

    @property
    def twice(self) -> int:
        return sum(n - 1 for n in self.answers.values() if n > 1)

    async def authorize(self, id_tag: str) -> str:
        if self.version == "1.6":
            answer = await self.cp.call(self.call.Authorize(id_tag=id_tag), suppress=False)
            return str(answer.id_tag_info["status"])
        request = self.call.Authorize(id_token={"id_token": id_tag, "type": "ISO14443"})
        answer = await self.cp.call(request, suppress=False)
        return str(answer.id_token_info["status"])


async def run(target: dict[str, Any]) -> dict[str, Any]:
    version, rate, seconds = target["version"], float(target["rate"]), float(target["seconds"])
    chargers = target["chargers"]
    n = len(chargers)
    sem = asyncio.Semaphore(200)

    async def open_one(charger: dict[str, Any]) -> Any:
        async with sem:
            return await connect(target["url"], charger, version)

    t0 = time.perf_counter()
    sockets = await asyncio.gather(*(open_one(c) for c in chargers))
    connect_s = time.perf_counter() - t0
    kind = Raw if target["client"] == "raw" else Library
    clients = [kind(ws, version, f"c{i}") for i, ws in enumerate(sockets)]
    gc.collect()
    gc.freeze()
    lat: list[float] = []
    sent = errors = accepted = 0
    period = n / rate
    last_answer = 0.0
    start = time.perf_counter()
    stop_at = start + seconds

    async def worker(i: int, client: Any) -> None:
        nonlocal sent, errors, accepted, last_answer
        tags = chargers[i]["id_tags"]  # alternately one that may charge and one that may not
        k = 0
        nxt = start + period * i / n
        while True:
            delay = nxt - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            nxt += period
            if time.perf_counter() >= stop_at:
                return
            sent += 1
            a = time.perf_counter()
            try:
                status = await client.authorize(tags[k % len(tags)])
            except Exception:
                errors += 1
                continue
            finally:
                k += 1
            last_answer = time.perf_counter()
            lat.append(last_answer - a)
            accepted += status == "Accepted"

    me = psutil.Process()
    server = psutil.Process(target["server_pid"])
    cpu0, own0 = sum(server.cpu_times()[:2]), sum(me.cpu_times()[:2])
    await asyncio.gather(*(worker(i, c) for i, c in enumerate(clients)))
    cpu, own = sum(server.cpu_times()[:2]) - cpu0, sum(me.cpu_times()[:2]) - own0
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    lat.sort()
    answered = len(lat)
    return {
        "client": target["client"],
        "version": version,
        "N": n,
        "rate": rate,
        "sent": sent,
        "answered": answered,
        "lost": sent - answered,  # errors (a CallError, a timeout) included
        "errors": errors,
        "answered_twice": sum(c.twice for c in clients),
        "per_s": answered / (last_answer - start) if lat else 0.0,
        "p50_ms": pct(lat, 50) * 1e3,
        "p99_ms": pct(lat, 99) * 1e3,
        "max_ms": lat[-1] * 1e3 if lat else float("nan"),
        "accepted_pct": 100 * accepted / max(1, answered),
        "server_cpu_us_per_msg": 1e6 * cpu / max(1, answered),
        "client_cpu_us_per_msg": 1e6 * own / max(1, answered),
        "connect_s": connect_s,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        target = json.load(f)
    print(json.dumps(asyncio.run(run(target))))


if __name__ == "__main__":
    main()
