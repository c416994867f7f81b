"""The console sub-application: session-cookie login, CSRF on every form, same services."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from chargegroups import errors
from chargegroups.auth import service as auth_service
from chargegroups.config import Settings
from chargegroups.console.csrf import FIELD, check_csrf
from chargegroups.console.pages import PAGE_ROUTERS
from chargegroups.console.web import (
    HERE,
    SESSION_TOKEN_KEY,
    CurrentViewer,
    Db,
    FormState,
    LoginRequired,
    console_db,
    redirect,
    render,
)
from chargegroups.decision import service as decisions
from chargegroups.kit.clock import utcnow
from chargegroups.kit.pagination import PageRequest
from chargegroups.models.access_token import CONSOLE_SESSION
from chargegroups.rest.deps import client_address
from chargegroups.rest.params import CursorParam
from chargegroups.rest.problems import status_of
from chargegroups.user import service as users

__all__ = ["create_console"]

CONSOLE_SESSION_SECONDS = 12 * 3600
LOGIN_FAILED = "Wrong operator, email or password."
ERROR_TITLES = {403: "Not permitted", 404: "Not found", 405: "Not allowed", 409: "Conflict"}


def error_page(request: Request, status: int, message: str) -> Response:
    title = ERROR_TITLES.get(status, "Something is not right")
    return render(request, "error.html", status, title=title, message=message, status=status)


def create_console(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.sessionmaker = sessionmaker
    console.state.settings = settings
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @console.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        return redirect(request, "/login")

    @console.exception_handler(errors.ChargeGroupsError)
    async def _service_error(request: Request, exc: errors.ChargeGroupsError) -> Response:
        # NotFound is also what another account's object looks like (R3): the same 404 page.
        return error_page(request, status_of(exc), exc.detail)

    @console.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, _: RequestValidationError) -> Response:
        return error_page(request, 422, "The address or the form is not valid.")

    @console.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(request, 404, "There is no such page.")
        return error_page(request, exc.status_code, str(exc.detail))

    @console.exception_handler(IntegrityError)
    async def _integrity(request: Request, _: IntegrityError) -> Response:
        return error_page(request, 409, "The change conflicts with another one; reload and retry.")

    @console.exception_handler(StaleDataError)
    async def _stale(request: Request, _: StaleDataError) -> Response:
        return error_page(request, 409, "Someone else changed this meanwhile; reload and retry.")

    @console.get("/login", response_class=HTMLResponse, name="login_page")
    async def login_page(request: Request) -> Response:
        return render(request, "login.html", error=None)

    @console.post("/login", response_class=HTMLResponse)
    async def login_submit(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get(FIELD))
        values = {k: str(form.get(k, "")) for k in ("operator", "email")}
        try:
            async with console_db(request) as session:
                user_token = await auth_service.login(
                    session,
                    request.app.state.read_pool,
                    request.app.state.failure_limits,
                    operator_slug=values["operator"],
                    email=values["email"],
                    password=str(form.get("password", "")),
                    client_address=client_address(request),
                    ttl_seconds=CONSOLE_SESSION_SECONDS,
                    kind=CONSOLE_SESSION,
                )
        except (errors.Unauthenticated, errors.RateLimited) as exc:
            limited = isinstance(exc, errors.RateLimited)
            return render(
                request,
                "login.html",
                429 if limited else 401,
                form=FormState(values=values),
                error="Too many attempts; retry later." if limited else LOGIN_FAILED,
            )
        request.session.clear()
        # The session's id, good for the console only: the cookie is signed, not secret.
        request.session[SESSION_TOKEN_KEY] = user_token.token
        return redirect(request, "/")

    @console.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get(FIELD))
        token = request.session.get(SESSION_TOKEN_KEY)
        if isinstance(token, str):
            async with console_db(request) as session:
                await auth_service.revoke_token(session, token)
        request.session.clear()
        return redirect(request, "/login")

    @console.get("/", response_class=HTMLResponse, name="home")
    async def home(
        request: Request, db: Db, viewer: CurrentViewer, cursor: CursorParam = None
    ) -> Response:
        tokens = await users.list_tokens(db, viewer.subject, viewer.subject.user_id)
        now = utcnow()
        where = await decisions.where_i_may_charge(
            db, viewer.subject, PageRequest(limit=20, cursor=cursor), at=now
        )
        return render(
            request,
            "home.html",
            viewer=viewer,
            tokens=tokens,
            where=where,
            group_names={g.id: g.name for g in viewer.me.groups},
            active="home",
            now=now,
        )

    for router in PAGE_ROUTERS:
        console.include_router(router)

    from chargegroups.console.public import register_public_pages  # imports this module

    register_public_pages(console, settings)
    console.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="chargegroups_session",
        max_age=CONSOLE_SESSION_SECONDS,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    return console
