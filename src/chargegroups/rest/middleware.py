"""Pure ASGI middleware: request ids and a bound on request bodies."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargegroups.kit.ids import new_id
from chargegroups.kit.request_context import request_id_var

log = logging.getLogger("chargegroups.rest")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_BODY_BYTES = 8 * 1024 * 1024


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-ID or makes one; echoes it on every response.

    It also answers any exception that escaped every handler as a 500 problem naming the
    request id (logged with its stack trace, never shown to the client).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_id()
        token = request_id_var.set(request_id)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error (request %s)", request_id)
            if started or scope["type"] != "http":
                raise
            await _send_problem(
                send_with_id,
                500,
                "internal_error",
                "Internal error",
                "Something went wrong on our side; quote the request id when you report it.",
                request_id=request_id,
            )
        finally:
            request_id_var.reset(token)


#: Answers a request whose body is too large, in the dialect of the edge it was sent to.
TooLarge = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimitMiddleware:
    """Refuses request bodies over MAX_BODY_BYTES with a 413 before reading them: a problem,
    or for a path under one of ``answers``' prefixes (an edge with its own error dialect,
    SCIM) that edge's answer."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        answers: Mapping[str, TooLarge] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.answers = dict(answers or {})

    def _answer(self, scope: Scope) -> TooLarge:
        path: str = scope["path"]
        for prefix, answer in self.answers.items():
            if path.startswith(prefix):
                return answer
        return _too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._answer(scope)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._answer(scope)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    await _send_problem(
        send,
        413,
        "payload_too_large",
        "Payload too large",
        f"Request bodies are limited to {MAX_BODY_BYTES} bytes.",
    )


async def _send_problem(
    send: Send, status: int, code: str, title: str, detail: str, **extra: str
) -> None:
    body = json.dumps(
        {
            "type": f"https://chargegroups.dev/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            **extra,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
