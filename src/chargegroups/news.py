"""Committed news across processes and nodes (N1): PostgreSQL NOTIFY and LISTEN.

Every process keeps memory that follows the database (``kit/after_commit.py``: the caller
cache, chargers' credentials, the ClearCache fan-out, chargers' connections). Its own commits
tell it directly; another process's commits reach it here:

- **Sent with the commit.** Before a PostgreSQL transaction commits, the news it gathered is
  sent with ``pg_notify`` inside that transaction, so PostgreSQL delivers it only if, and once,
  the transaction commits. A payload stays under NOTIFY's 8000 bytes: long news is shrunk to
  fewer items that cover as much (ids become "some rows"), then split into several
  notifications.
- **Heard on one connection.** :class:`ChangeListener` LISTENs on a dedicated asyncpg
  connection and hands what other processes committed to the same after-commit listeners
  (news a process sent itself was told to it at its commit). When that connection drops, the
  process tells every listener that anything may have changed (caches empty themselves,
  connected chargers are told to clear theirs), reconnects with backoff, and tells them again
  once it listens (what committed in between was heard by nobody here); meanwhile
  ``listening`` is False and ``/readyz`` reports not ready.

SQLite is one process: nothing is sent or heard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

# The modules whose memory follows rows declare what they watch when imported; every process
# that commits must know it, to record and announce those rows.
from chargegroups.auth import caller_cache as _caller_cache  # noqa: F401
from chargegroups.kit import after_commit, metrics
from chargegroups.ocpp import credentials as _credentials  # noqa: F401

log = logging.getLogger(__name__)

CHANNEL = "chargegroups_news"
# NOTIFY refuses payloads of 8000 bytes or more; keep a margin for the envelope.
PAYLOAD_LIMIT = 7_900
# Past this many items a channel's news is shrunk before it is split (a bulk change of 10 000
# rows is told as "some rows changed", not in a hundred notifications).
SHRINK_OVER = 200
PROBE_SECONDS = 5.0  # a silent connection is asked whether it is still there this often
PROBE_TIMEOUT = 5.0
BACKOFF = (0.05, 5.0)  # first and longest wait between reconnection attempts

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
_origin: tuple[int, str] | None = None


def origin() -> str:
    """This process's mark on the news it sends (new after a fork: a child is another
    process)."""
    global _origin
    if _origin is None or _origin[0] != os.getpid():
        _origin = (os.getpid(), f"{os.getpid()}-{secrets.token_hex(6)}")
    return _origin[1]


def payloads(pending: dict[str, list[Any]], sent_at: float) -> Iterator[str]:
    """``pending`` news (channel name → items) as NOTIFY payloads within the limit."""
    encoded: list[tuple[str, Any]] = []
    for name, items in pending.items():
        channel = after_commit.channel(name)
        if channel is None or not items:
            continue
        if len(items) > SHRINK_OVER:
            items = channel.shrink(items)
        plain = [p for p in map(channel.encode, items) if p is not None]
        if len(json.dumps(plain, separators=(",", ":"))) > PAYLOAD_LIMIT:
            plain = [p for p in map(channel.encode, channel.shrink(items)) if p is not None]
        encoded += [(name, p) for p in plain]
    batch: dict[str, list[Any]] = {}
    size = 0
    for name, plain in encoded:
        item_size = len(json.dumps(plain, separators=(",", ":"))) + len(name) + 8
        if batch and size + item_size > PAYLOAD_LIMIT - 100:
            yield _envelope(batch, sent_at)
            batch, size = {}, 0
        batch.setdefault(name, []).append(plain)
        size += item_size
    if batch:
        yield _envelope(batch, sent_at)


def _envelope(news: dict[str, list[Any]], sent_at: float) -> str:
    return json.dumps({"o": origin(), "t": sent_at, "n": news}, separators=(",", ":"))


@event.listens_for(Session, "before_commit")
def _announce(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: not committed yet
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    # The last flush first: its rows are news too (commit would flush after this hook).
    session.flush()
    pending = {c.name: c.pending(session.info) for c in after_commit.channels()}
    for payload in payloads(pending, time.time()):
        session.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})


def receive(payload: str) -> float | None:
    """Deliver another process's news to this one's listeners; the seconds since it was sent
    (None: our own, or not understood)."""
    try:
        message = json.loads(payload)
        if message["o"] == origin():
            return None
        news: dict[str, list[Any]] = message["n"]
        sent_at = float(message["t"])
    except (ValueError, KeyError, TypeError):
        log.warning("news not understood: %.200s", payload)
        return None
    for name, plain_items in news.items():
        channel = after_commit.channel(name)
        if channel is None:
            continue
        items = [i for i in map(channel.decode, plain_items) if i is not None]
        channel.deliver(items)
    return max(0.0, time.time() - sent_at)


def _payload_only(deliver: Callable[[str], None]) -> Callable[[object, int, str, str], None]:
    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        deliver(payload)

    return on_notify


class ChangeListener:
    """LISTENs for other processes' news while the application runs (see the module)."""

    def __init__(
        self,
        database_url: str,
        *,
        node_id: str,
        channels: dict[str, Callable[[str], None]] | None = None,
    ) -> None:
        """``channels``: other channels to listen on, each with what to do with a payload."""
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        # Named in pg_stat_activity, so an operator (or a test) can find it.
        self._settings = {"application_name": f"chargegroups news {node_id}"[:63]}
        self._channels = channels or {}
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._started = asyncio.Event()

    async def start(self, *, wait_seconds: float = 10.0) -> None:
        """Begin listening; waits (a bounded time) for the first LISTEN, so a node starts
        serving only once it hears the others."""
        self._task = asyncio.create_task(self._run(), name="chargegroups-news")
        with suppress(TimeoutError):
            await asyncio.wait_for(self._started.wait(), wait_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        self.listening = False

    def backend_pid(self) -> int | None:
        """The PostgreSQL backend listening for this process (None: not connected)."""
        connection = self._connection
        return None if connection is None or connection.is_closed() else connection.get_server_pid()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        lag = receive(payload)
        if lag is not None:
            metrics.NEWS_LAG.observe(lag)

    async def _run(self) -> None:
        delay = BACKOFF[0]
        while True:
            lost = asyncio.Event()
            try:
                self._connection = connection = await asyncpg.connect(
                    self._dsn, server_settings=self._settings
                )
                connection.add_termination_listener(lambda _, event=lost: event.set())
                await connection.add_listener(CHANNEL, self._on_notify)
                for name, deliver in self._channels.items():
                    await connection.add_listener(name, _payload_only(deliver))
                after_commit.news_lost()  # committed before this LISTEN: heard by nobody here
                self.listening = True
                metrics.NEWS_LISTENING.set(1)
                self._started.set()
                delay = BACKOFF[0]
                log.info("listening for news from other nodes")
                await self._watch(connection, lost)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: the connection is in doubt, start again
                log.warning("news connection failed (%s); reconnecting", error)
            finally:
                if self.listening:
                    self.listening = False
                    metrics.NEWS_LISTENING.set(0)
                    after_commit.news_lost()
                if self._connection is not None:
                    self._connection.terminate()
                    self._connection = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF[1])

    async def _watch(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Until the connection is lost: a termination the driver saw, or a probe unanswered."""
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), PROBE_SECONDS)
            if lost.is_set() or connection.is_closed():
                raise ConnectionError("the listening connection closed")
            await asyncio.wait_for(connection.fetchval("SELECT 1"), PROBE_TIMEOUT)
