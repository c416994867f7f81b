"""Public console pages of onboarding: accept an invitation, verify an address, join through
a link, sign up. The same services as the REST edge; CSRF on every form; rate-limited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from chargegroups import errors
from chargegroups.config import Settings
from chargegroups.console.csrf import FIELD, check_csrf
from chargegroups.console.web import console_db, render
from chargegroups.limits.rules import public_limit_key
from chargegroups.onboarding import service
from chargegroups.onboarding.email import Mailer
from chargegroups.onboarding.rules import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from chargegroups.rest.deps import client_address
from chargegroups.rest.problems import status_of

FORM_FIELDS = ("operator", "email", "name")


def register_public_pages(console: FastAPI, settings: Settings) -> None:
    mailer = Mailer.from_settings(settings)

    async def submitted(request: Request) -> dict[str, str]:
        """The checked form: CSRF first, then the client's rate limit."""
        form = await request.form()
        check_csrf(request, form.get(FIELD))
        await request.app.state.limits.hit(
            public_limit_key(client_address(request)),
            limit=settings.public_rate_limit,
            window_seconds=settings.public_rate_window_seconds,
        )
        return {key: str(value) for key, value in form.items() if isinstance(value, str)}

    async def attempt(
        request: Request,
        template: str,
        values: dict[str, str],
        work: Callable[[], Awaitable[str]],
        **context: object,
    ) -> Response:
        try:
            message = await work()
        except errors.ChargeGroupsError as exc:
            shown = {k: v for k, v in values.items() if k in FORM_FIELDS}
            return render(
                request, template, status_of(exc), form=shown, error=exc.detail, **context
            )
        return render(request, "public_done.html", title="Thank you", message=message)

    def dead_link(request: Request, exc: errors.ChargeGroupsError) -> Response:
        return render(
            request, "public_done.html", status_of(exc), title="Link not usable", message=exc.detail
        )

    @console.get("/invite/{token}", response_class=HTMLResponse)
    async def invite_page(request: Request, token: str) -> Response:
        try:
            async with console_db(request) as session:
                invitation, account = await service.open_invitation(session, token)
        except errors.ChargeGroupsError as exc:
            return dead_link(request, exc)
        return render(
            request,
            "public_invite.html",
            form={},
            error=None,
            email=invitation.email,
            account=account,
        )

    @console.post("/invite/{token}", response_class=HTMLResponse)
    async def invite_submit(request: Request, token: str) -> Response:
        values = await submitted(request)
        try:
            async with console_db(request) as session:
                invitation, account = await service.open_invitation(session, token)
        except errors.ChargeGroupsError as exc:
            return dead_link(request, exc)

        async def work() -> str:
            async with console_db(request) as session:
                return await service.accept_invitation(
                    session,
                    mailer,
                    token=token,
                    password=_password(values),
                    name=_name(values),
                )

        return await attempt(
            request, "public_invite.html", values, work, email=invitation.email, account=account
        )

    @console.get("/verify-email/{token}", response_class=HTMLResponse)
    async def verify_page(request: Request) -> Response:
        # Verifying takes a click, not the GET: mail scanners fetch links on their own.
        return render(request, "public_verify.html", form={}, error=None)

    @console.post("/verify-email/{token}", response_class=HTMLResponse)
    async def verify_submit(request: Request, token: str) -> Response:
        values = await submitted(request)

        async def work() -> str:
            async with console_db(request) as session:
                await service.verify_email(session, token)
            return "Your email address is confirmed. You can sign in now."

        return await attempt(request, "public_verify.html", values, work)

    @console.get("/join/{token}", response_class=HTMLResponse)
    async def join_page(request: Request, token: str) -> Response:
        try:
            async with console_db(request) as session:
                _, account = await service.open_join_link(session, token)
        except errors.ChargeGroupsError as exc:
            return dead_link(request, exc)
        return render(request, "public_join.html", form={}, error=None, account=account)

    @console.post("/join/{token}", response_class=HTMLResponse)
    async def join_submit(request: Request, token: str) -> Response:
        values = await submitted(request)
        try:
            async with console_db(request) as session:
                _, account = await service.open_join_link(session, token)
        except errors.ChargeGroupsError as exc:
            return dead_link(request, exc)

        async def work() -> str:
            async with console_db(request) as session:
                return await service.join(
                    session,
                    mailer,
                    token=token,
                    address=values.get("email", ""),
                    password=_password(values),
                    name=_name(values),
                )

        return await attempt(request, "public_join.html", values, work, account=account)

    @console.get("/signup", response_class=HTMLResponse)
    async def signup_page(request: Request) -> Response:
        return render(request, "public_signup.html", form={}, error=None)

    @console.post("/signup", response_class=HTMLResponse)
    async def signup_submit(request: Request) -> Response:
        values = await submitted(request)

        async def work() -> str:
            async with console_db(request) as session:
                return await service.signup(
                    session,
                    mailer,
                    operator_slug=values.get("operator", ""),
                    address=values.get("email", ""),
                    password=_password(values),
                    name=_name(values),
                )

        return await attempt(request, "public_signup.html", values, work)

    @console.exception_handler(errors.RateLimited)
    async def _rate_limited(request: Request, exc: errors.RateLimited) -> Response:
        return render(request, "public_done.html", 429, title="Slow down", message=exc.detail)


def _password(values: dict[str, str]) -> str:
    """The same bounds as the REST shape (schemas.Password)."""
    password = values.get("password", "")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise errors.InvalidInput(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password"
        )
    return password


def _name(values: dict[str, str]) -> str:
    name = values.get("name", "").strip()
    if not 1 <= len(name) <= 200:
        raise errors.InvalidInput("Please give your name (at most 200 characters).")
    return name
