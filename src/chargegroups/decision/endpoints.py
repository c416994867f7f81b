"""``POST /api/v1/decisions``: the FastAPI route, and the lane that answers it past FastAPI."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargegroups.auth.subject import AuthSubject
from chargegroups.database import ReadPool
from chargegroups.decision import service
from chargegroups.decision.schemas import DecisionOut, DecisionRequest, decision_body
from chargegroups.errors import ChargeGroupsError
from chargegroups.kit.clock import utcnow
from chargegroups.rest.deps import BEARER_SECURITY, authenticated_reads
from chargegroups.rest.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/decisions", tags=["decisions"], responses=PROBLEM_RESPONSES)


async def answer(asked: DecisionRequest, reads: ReadPool, subject: AuthSubject) -> bytes:
    """The decision as JSON, written once: FastAPI would validate it against DecisionOut first."""
    decision = await service.decide_for_caller(
        reads,
        subject,
        charger_id=asked.charger_id,
        charge_point_id=asked.charge_point_id,
        token_uid=asked.token_uid,
        user_id=asked.user_id,
        at=asked.at or utcnow(),
    )
    return to_json(decision_body(decision))


@router.post("", response_model=DecisionOut, openapi_extra=BEARER_SECURITY)
async def post_decision(
    caller: Annotated[tuple[ReadPool, AuthSubject], Depends(authenticated_reads)],
    body: DecisionRequest,
) -> Response:
    """May this driver charge at this charger, at what discount, and who pays, and why (D1-D9)."""
    # The caller is a dependency: FastAPI runs it before validating the body, so a request
    # without credentials is a 401 whatever its body.
    reads, subject = caller
    return Response(await answer(body, reads, subject), media_type="application/json")


# A decision request is a few hundred bytes; a body larger than this goes to the route, whose
# body limit answers it.
_LANE_MAX_BODY = 16 * 1024
# What the lane leaves to the route: every way a request is not answered with a decision.
_HANDED_OVER = (ValidationError, ChargeGroupsError, OperationalError)


class DecisionLane:
    """ASGI middleware: ``POST /api/v1/decisions`` answered straight from :func:`answer`.

    A client may ask thousands of decisions a second; FastAPI's middleware, routing, request
    handling and dependencies around the route cost about as much as the decision itself
    (docs/benchmarks.md). The lane reads the body, validates it as the route's
    ``DecisionRequest``, authenticates the caller with the route's own
    :func:`~chargegroups.rest.deps.authenticated_reads` and answers with the route's
    :func:`answer`. Whatever it cannot answer with a decision — a body that is not JSON, not
    valid or too large, missing or bad credentials, a charger or driver out of reach, an
    unavailable database — it hands to the route with the body it read, so every error is
    answered by the route, exactly as without the lane.
    """

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].removeprefix(scope.get("root_path", "")) != self.path
        ):
            await self.app(scope, receive, send)
            return
        received, complete = await _read_body(receive)
        answered = None
        if complete and _is_json(scope):
            with suppress(*_HANDED_OVER):  # the route answers it
                answered = await self._answer(scope, b"".join(m["body"] for m in received))
        if answered is None:
            await self.app(scope, _replaying(received, receive), send)
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(answered)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answered})

    async def _answer(self, scope: Scope, body: bytes) -> bytes:
        asked = DecisionRequest.model_validate_json(body)
        reads, subject = await authenticated_reads(Request(scope))
        return await answer(asked, reads, subject)


async def _read_body(receive: Receive) -> tuple[list[Message], bool]:
    """The request's messages up to its whole body (then True), or up to the lane's limit or a
    disconnect (then False)."""
    received: list[Message] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":  # the client went away
            return received, False
        message.setdefault("body", b"")
        size += len(message["body"])
        if not message.get("more_body", False):
            return received, True
        if size > _LANE_MAX_BODY:
            return received, False


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """``receive`` for the route: the messages the lane read, then the client's own."""
    pending = list(received)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json" or media_type.endswith(b"+json")
    return False
