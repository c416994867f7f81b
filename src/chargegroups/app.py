"""create_app(settings) -> the one ASGI application: API, console, OCPP and SCIM."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from chargegroups import console, migrate
from chargegroups.account.endpoints import router as account_router
from chargegroups.audit.endpoints import router as audit_router
from chargegroups.auth.caller_cache import CallerCache
from chargegroups.auth.endpoints import router as auth_router
from chargegroups.billing.endpoints import router as billing_router
from chargegroups.charger.endpoints import router as charger_router
from chargegroups.config import Settings, check_secret_key, get_settings
from chargegroups.database import (
    create_engine,
    create_read_pool,
    create_sessionmaker,
    is_sqlite,
)
from chargegroups.decision.endpoints import DecisionLane
from chargegroups.decision.endpoints import router as decision_router
from chargegroups.group.endpoints import router as group_router
from chargegroups.health.endpoints import router as health_router
from chargegroups.kit import metrics
from chargegroups.limits.counters import FailureLimits, Limits
from chargegroups.news import ChangeListener
from chargegroups.ocpp import commands as ocpp_commands
from chargegroups.ocpp import edge as ocpp_edge
from chargegroups.ocpp.endpoints import router as ocpp_connection_router
from chargegroups.onboarding.endpoints import links_router as onboarding_links_router
from chargegroups.onboarding.endpoints import router as onboarding_router
from chargegroups.operator.endpoints import router as operator_router
from chargegroups.rate_plan.endpoints import delegation_router
from chargegroups.rate_plan.endpoints import router as rate_plan_router
from chargegroups.rest import problems
from chargegroups.rest.middleware import BodyLimitMiddleware, RequestIdMiddleware
from chargegroups.rest.security_headers import SecurityHeadersMiddleware
from chargegroups.scim import endpoints as scim_edge
from chargegroups.scim.token_endpoints import SCIM_PATH
from chargegroups.scim.token_endpoints import router as scim_token_router
from chargegroups.session.endpoints import router as session_router
from chargegroups.user.endpoints import router as user_router

API_PREFIX = "/api/v1"
DECISIONS_PATH = f"{API_PREFIX}/decisions"
DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
log = logging.getLogger("chargegroups")


# Starlette matches routes in order; the hot path (a decision per request) comes first. Each
# feature router is included in the application itself, not under a common /api/v1 router:
# FastAPI walks every nested router on every request to see whether routes changed.
FEATURE_ROUTERS: tuple[APIRouter, ...] = (
    decision_router,
    auth_router,
    operator_router,
    audit_router,
    account_router,
    group_router,
    charger_router,
    user_router,
    onboarding_router,
    billing_router,
    session_router,
    ocpp_connection_router,
    rate_plan_router,
    delegation_router,
    scim_token_router,
)


async def dispose(app: FastAPI) -> None:
    """Close the application's database pools (serving does it at shutdown)."""
    await app.state.engine.dispose()
    await app.state.read_pool.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_secret_key(settings)
    pool = {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
    }
    engine = create_engine(settings.database_url, **pool)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        listener: ChangeListener | None = app.state.change_listener
        if listener is not None:
            await listener.start()
        try:
            async with ocpp_edge.serving(app):
                yield
        finally:
            if listener is not None:
                await listener.stop()
            await dispose(app)
            metrics.process_exited()

    # Swagger UI and ReDoc from the assets fastapi-offline ships: no CDN, so they work on a host
    # without Internet access.
    app = FastAPIOffline(
        title="chargegroups",
        version=version("chargegroups"),
        summary="Who may charge where, at what price, and who pays.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url="/api/docs/static",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.read_pool = create_read_pool(
        settings.database_url, size=settings.database_pool_size + settings.database_max_overflow
    )
    app.state.caller_cache = CallerCache(settings.caller_cache_seconds)
    app.state.migration_heads = migrate.heads()
    app.state.limits = Limits(app.state.sessionmaker)
    app.state.failure_limits = FailureLimits.from_settings(app.state.limits, settings)
    problems.install(app)
    for feature_router in FEATURE_ROUTERS:
        app.include_router(feature_router, prefix=API_PREFIX)
    app.include_router(onboarding_links_router)
    app.include_router(health_router)
    console.mount(app, settings)
    scim_edge.mount(app)
    ocpp_edge.install(app, settings.node_id)
    # Other processes' commits, heard on PostgreSQL (N1); SQLite is one process.
    app.state.change_listener = (
        None
        if is_sqlite(settings.database_url)
        else ChangeListener(
            settings.database_url,
            node_id=settings.node_id,
            channels={ocpp_commands.CHANNEL: app.state.charger_commands.deliver},
        )
    )
    app.add_middleware(BodyLimitMiddleware, answers={SCIM_PATH: scim_edge.too_large})
    # Both inside RequestIdMiddleware (OCPP audits name the request id; every answer carries it).
    app.add_middleware(ocpp_edge.OcppRoute)
    app.add_middleware(DecisionLane, path=DECISIONS_PATH)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(metrics.RequestMetrics, lanes=(DECISIONS_PATH,))
    app.add_middleware(
        SecurityHeadersMiddleware,
        https=settings.public_url.startswith("https://"),
        docs_paths=(DOCS_URL, REDOC_URL),
    )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    return app
