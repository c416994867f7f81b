"""What every console page shares: the signed-in viewer, rendering, forms and their errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups import errors
from chargegroups.auth import service as auth_service
from chargegroups.auth.schemas import MeOut
from chargegroups.auth.subject import AuthSubject
from chargegroups.console.csrf import FIELD, check_csrf, csrf_token
from chargegroups.kit.money import format_amount
from chargegroups.onboarding.email import Mailer
from chargegroups.onboarding.rules import redact_link_tokens
from chargegroups.rest.deps import get_db
from chargegroups.user import profile

HERE = Path(__file__).parent
SESSION_TOKEN_KEY = "token"  # noqa: S105 (a session key name)
FORM_KEY = "_form"  # errors that belong to no single field

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["money"] = lambda amount, currency: (
    f"{format_amount(amount, currency)} {currency}"
)
templates.env.filters["redact_link_tokens"] = redact_link_tokens
templates.env.filters["kwh"] = lambda value: f"{value.quantize(Decimal('0.01')):f}"

# Errors a form shows next to its fields; every other error renders the error page.
FORM_ERRORS: tuple[type[errors.ChargeGroupsError], ...] = (
    errors.InvalidInput,
    errors.Conflict,
    errors.StaleVersion,
)


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
        return await auth_service.authenticate(session, token, console=True)
    except errors.Unauthenticated:
        request.session.pop(SESSION_TOKEN_KEY, None)
        raise LoginRequired from None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a page: its grants (for the services) and its profile (to show)."""

    subject: AuthSubject
    me: MeOut

    @property
    def is_operator_admin(self) -> bool:
        return self.subject.is_operator_admin

    @property
    def is_account_admin(self) -> bool:
        return bool(self.subject.admin_account_ids)


async def get_viewer(request: Request, db: Annotated[AsyncSession, Depends(get_db)]) -> Viewer:
    subject = await current_subject(request, db)
    return Viewer(subject=subject, me=await profile.me(db, subject))


async def csrf_guard(request: Request) -> None:
    """Every state-changing console request carries the session's CSRF token."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        form = await request.form()
        check_csrf(request, form.get(FIELD))


Db = Annotated[AsyncSession, Depends(get_db)]
CurrentViewer = Annotated[Viewer, Depends(get_viewer)]


def console_url(request: Request, path: str, **query: Any) -> str:
    """A console path made absolute under wherever the console is mounted."""
    url = str(request.scope.get("root_path", "")) + path
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


def redirect(request: Request, path: str, **query: Any) -> Response:
    return RedirectResponse(console_url(request, path, **query), status_code=303)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("url", lambda path, **query: console_url(request, path, **query))
    context.setdefault("csrf_field", FIELD)
    context.setdefault("csrf_token", csrf_token(request))
    context.setdefault("flash", request.session.pop("flash", None))
    context.setdefault("form", FormState())
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def flash(request: Request, message: str) -> None:
    """A one-line confirmation shown on the next page rendered."""
    request.session["flash"] = message


@dataclass(slots=True)
class FormState:
    """What was typed and what is wrong with it, keyed by field name."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: Any = "") -> Any:
        return self.values.get(name, default)

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def invalid(self) -> bool:
        return bool(self.errors)


async def read_form(request: Request, *multi: str) -> dict[str, Any]:
    """The submitted form as plain values (``multi`` names keep every value as a list)."""
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != FIELD}
    for name in multi:
        values[name] = [str(v) for v in form.getlist(name)]
    return values


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors keyed by the form field they are about (the top of each location)."""
    found: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if not isinstance(part, int)]
        name = loc[0] if loc else FORM_KEY
        found.setdefault(name, str(err.get("msg", "Invalid value.")).removeprefix("Value error, "))
    return found


def service_errors(
    exc: errors.ChargeGroupsError, fields: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A service error placed next to the field its ``code`` is about (else the whole form)."""
    name = (fields or {}).get(exc.code) or exc.extra.get("field") or FORM_KEY
    return {str(name): exc.detail}


def form_failed(values: Mapping[str, Any], problem: dict[str, str]) -> FormState:
    return FormState(values=dict(values), errors=problem)


def page_router(prefix: str = "") -> APIRouter:
    """A router of console pages: HTML answers, CSRF checked before any form is handled."""
    return APIRouter(
        prefix=prefix, dependencies=[Depends(csrf_guard)], default_response_class=HTMLResponse
    )


def get_mailer(request: Request) -> Mailer:
    return Mailer.from_settings(request.app.state.settings)


MailerDep = Annotated[Mailer, Depends(get_mailer)]
