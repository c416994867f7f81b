"""The console sub-application: session-cookie login, CSRF on every form, same services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from chargegroups import errors
from chargegroups.auth import service as auth_service
from chargegroups.auth.subject import AuthSubject
from chargegroups.config import Settings
from chargegroups.console.csrf import FIELD, check_csrf, csrf_token
from chargegroups.kit.clock import utcnow
from chargegroups.user import profile

HERE = Path(__file__).parent
SESSION_TOKEN_KEY = "token"  # noqa: S105 (a session key name)
CONSOLE_SESSION_SECONDS = 12 * 3600

templates = Jinja2Templates(directory=HERE / "templates")


class LoginRequired(Exception):
    """Raised by pages that need a signed-in user; answered with a redirect to the login page."""


@asynccontextmanager
async def console_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session, session.begin():
        yield session


async def current_subject(request: Request, session: AsyncSession) -> AuthSubject:
    token = request.session.get(SESSION_TOKEN_KEY)
    if not isinstance(token, str):
        raise LoginRequired
    try:
        return await auth_service.authenticate(session, token)
    except errors.Unauthenticated:
        request.session.pop(SESSION_TOKEN_KEY, None)
        raise LoginRequired from None


def console_url(request: Request, path: str) -> str:
    """A console path made absolute under wherever the console is mounted."""
    return str(request.scope.get("root_path", "")) + path


def redirect(request: Request, path: str) -> Response:
    return RedirectResponse(console_url(request, path), status_code=303)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("url", lambda path: console_url(request, path))
    context.setdefault("csrf_field", FIELD)
    context.setdefault("csrf_token", csrf_token(request))
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def create_console(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.sessionmaker = sessionmaker
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @console.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        return redirect(request, "/login")

    @console.exception_handler(errors.NotFound)
    async def _not_found(request: Request, exc: errors.NotFound) -> Response:
        return render(request, "error.html", 404, title="Not found", message=exc.detail)

    @console.exception_handler(errors.NotPermitted)
    async def _not_permitted(request: Request, exc: errors.NotPermitted) -> Response:
        return render(request, "error.html", 403, title="Not permitted", message=exc.detail)

    @console.get("/login", response_class=HTMLResponse, name="login_page")
    async def login_page(request: Request) -> Response:
        return render(request, "login.html", form={}, error=None)

    @console.post("/login", response_class=HTMLResponse)
    async def login_submit(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get(FIELD))
        values = {k: str(form.get(k, "")) for k in ("operator", "email")}
        try:
            async with console_db(request) as session:
                user_token = await auth_service.login(
                    session,
                    operator_slug=values["operator"],
                    email=values["email"],
                    password=str(form.get("password", "")),
                    ttl_seconds=CONSOLE_SESSION_SECONDS,
                )
        except errors.Unauthenticated:
            return render(
                request, "login.html", 401, form=values, error="Wrong operator, email or password."
            )
        request.session.clear()
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
    async def home(request: Request) -> Response:
        async with console_db(request) as session:
            subject = await current_subject(request, session)
            me = await profile.me(session, subject)
        return render(request, "home.html", me=me, subject=subject, now=utcnow())

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
