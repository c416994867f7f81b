"""``/healthz``, ``/readyz`` and ``/metrics``: outside the API's version prefix, as probes and
Prometheus expect them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from chargegroups.health import service
from chargegroups.kit import metrics
from chargegroups.rest.deps import Credentials
from chargegroups.rest.schemas import problem_responses

# A request the server cannot parse is a 400 here as everywhere.
router = APIRouter(tags=["operations"], responses=problem_responses(400))

_UNAVAILABLE = problem_responses(503)


class Health(BaseModel):
    status: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process answers (a liveness probe: nothing else is checked)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=_UNAVAILABLE)
async def readyz(request: Request) -> Health:
    """Ready for traffic: the database answers and is migrated to this version, and, where
    other nodes' changes arrive by a listener (PostgreSQL), it is connected. Otherwise 503 with
    the problem's ``code``: ``database_unavailable``, ``migrations_pending`` or
    ``change_listener_disconnected``."""
    state = request.app.state
    await service.check_ready(
        state.engine, state.migration_heads, getattr(state, "change_listener", None)
    )
    return Health(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {}}}},
)
async def get_metrics(request: Request, credentials: Credentials) -> Response:
    """Prometheus metrics of every process serving (text format). With
    ``CHARGEGROUPS_METRICS_TOKEN`` set, only that bearer token may read them."""
    service.check_metrics_access(
        request.app.state.settings.metrics_token,
        credentials.credentials if credentials is not None else None,
    )
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
