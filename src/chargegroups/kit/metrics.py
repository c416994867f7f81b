"""Every Prometheus metric the service exports, in one place for every feature to import.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve --workers``) before this module is first
imported, each process writes its values to files there and ``GET /metrics`` adds up those of
every process (``MultiProcessCollector``); without it, one process serves its own registry.

The hot paths (a decision, an OCPP message) touch only label children made once: ``labels()``
formats and hashes its arguments on every call, which is kept off them.
"""

from __future__ import annotations

import os
from time import perf_counter
from typing import Final

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE: Final = "unmatched"
OTHER_ACTION: Final = "other"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST  # of exposition()

HTTP_REQUESTS = Counter(
    "chargegroups_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
)
HTTP_LATENCY = Histogram(
    "chargegroups_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ("method", "route"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DECISIONS = Counter(
    "chargegroups_decisions_total",
    "Decisions answered (API and OCPP), by outcome and reason (D1-D9).",
    ("outcome", "reason"),
)
OCPP_CONNECTIONS = Gauge(
    "chargegroups_ocpp_connections",
    "Chargers connected now, by OCPP version.",
    ("version",),
    multiprocess_mode="livesum",  # the live workers' connections, added up
)
OCPP_MESSAGES = Counter(
    "chargegroups_ocpp_messages_total",
    "OCPP calls received from chargers, by OCPP version and action.",
    ("version", "action"),
)
OCPP_HANDSHAKE_FAILURES = Counter(
    "chargegroups_ocpp_handshake_failures_total",
    "OCPP WebSocket handshakes refused, by the HTTP status of the refusal.",
    ("status",),
)
NEWS_LAG = Histogram(
    "chargegroups_news_lag_seconds",
    "From another process's commit (its NOTIFY) to this process hearing it (N1).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
NEWS_LISTENING = Gauge(
    "chargegroups_news_listening",
    "1 while this process listens for other processes' news, 0 while it reconnects.",
    multiprocess_mode="livemin",
)
EMAIL_DELIVERIES = Counter(
    "chargegroups_email_deliveries_total",
    "Emails queued: kept in the outbox only (no SMTP), sent, or failed to send.",
    ("outcome",),
)

_decision_children: dict[tuple[bool, str], Counter] = {}


def count_decision(allowed: bool, reason: str) -> None:
    child = _decision_children.get((allowed, reason))
    if child is None:  # once per outcome and reason
        child = _decision_children[allowed, reason] = DECISIONS.labels(
            "allowed" if allowed else "refused", reason
        )
    child.inc()


class OcppCalls:
    """A version's calls by action; an action it does not handle counts as "other" (a charger
    cannot grow the label set)."""

    def __init__(self, version: str, actions: frozenset[str]) -> None:
        self._children = {action: OCPP_MESSAGES.labels(version, action) for action in actions}
        self._other = OCPP_MESSAGES.labels(version, OTHER_ACTION)

    def count(self, action: str) -> None:
        self._children.get(action, self._other).inc()


def route_templates(app: Starlette) -> dict[int, str]:
    """Each route's whole template by the route's id: a route of an included router carries
    only its own part of the path (``/accounts/{account_id}``, not ``/api/v1/...``)."""
    return {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(app.routes)
        if context.path_format is not None
    }


class RequestMetrics:
    """ASGI middleware, outermost: every HTTP request counted by route template and status and
    timed, the ones answered past FastAPI (``lanes``: their fixed paths) included."""

    def __init__(self, app: ASGIApp, *, lanes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.lanes = frozenset(lanes)
        self._templates: dict[int, str] = {}
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._templates:  # the application's routes are all there by the first request
            self._templates = route_templates(scope["app"])
        started = perf_counter()
        status = 500  # an exception that escaped every handler

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._observe(scope, status, perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        path: str = scope["path"]
        route = path if path in self.lanes else self._route_template(scope)
        key = (scope["method"], route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                HTTP_REQUESTS.labels(key[0], route, str(status)),
                HTTP_LATENCY.labels(key[0], route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def _route_template(self, scope: Scope) -> str:
        """The template of the route that answered, with the mounts above it; ``unmatched``
        when none did, so that no path becomes a label."""
        route = scope.get("route")
        if route is None:
            return UNMATCHED_ROUTE
        template = self._templates.get(id(route))
        if template is not None:
            return template
        # A mounted application's route (the console): its own path below the mount.
        mounted_at = str(scope.get("root_path", "")).removeprefix(scope.get("app_root_path", ""))
        if isinstance(route, Mount):  # static files: the mount itself
            return mounted_at or route.path
        return mounted_at + str(getattr(route, "path", UNMATCHED_ROUTE))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE) or None


def exposition() -> bytes:
    """The text format of every process's metrics (with workers) or this process's."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exited() -> None:
    """A worker leaving: its live gauges (connections) stop counting."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
