"""The public onboarding pages over HTTP, with their CSRF-protected forms."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from chargegroups.app import create_app, dispose
from chargegroups.auth.service import subject_for
from chargegroups.models import JoinLink
from chargegroups.onboarding import service
from chargegroups.onboarding.email import Mailer
from tests.fixtures.factories import make_account, make_operator
from tests.onboarding.helpers import (
    SIGNUP_PASSWORD,
    link_token,
    make_group,
    memberships_of,
    user_by_email,
)

MAILER = Mailer(public_url="http://testserver", smtp_url=None, sender="a@b.example")


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "form without CSRF token"
    return match.group(1)


async def invited(uow, email="ana@acme.example"):
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme Fleet")
        subject = await _subject(s, world.admin)
        await service.invite(s, subject, MAILER, acme.id, email)
    async with uow() as s:
        return world, acme, await link_token(s, email, "invite")


async def _subject(session, user):
    return await subject_for(session, user)


async def test_the_invitation_page_accepts_with_name_and_password(uow, client) -> None:
    _, acme, token = await invited(uow)
    page = await client.get(f"/console/invite/{token}")
    assert page.status_code == 200
    assert "Acme Fleet" in page.text and "ana@acme.example" in page.text
    done = await client.post(
        f"/console/invite/{token}",
        data={"csrf_token": csrf_of(page.text), "name": "Ana", "password": SIGNUP_PASSWORD},
    )
    assert done.status_code == 200
    assert "Thank you" in done.text
    async with uow() as s:
        user = await user_by_email(s, "ana@acme.example")
    assert user.account_id == acme.id and user.name == "Ana"


async def test_a_form_post_without_the_csrf_token_is_refused(uow, client) -> None:
    _, _, token = await invited(uow)
    await client.get(f"/console/invite/{token}")
    response = await client.post(
        f"/console/invite/{token}", data={"name": "Ana", "password": SIGNUP_PASSWORD}
    )
    assert response.status_code == 403
    async with uow() as s:
        assert await user_by_email(s, "ana@acme.example") is None


async def test_a_used_invitation_link_shows_why_it_cannot_be_used(uow, client) -> None:
    _, _, token = await invited(uow)
    async with uow() as s:
        await service.accept_invitation(
            s, MAILER, token=token, password=SIGNUP_PASSWORD, name="Ana"
        )
    page = await client.get(f"/console/invite/{token}")
    assert page.status_code == 409
    assert "used already" in page.text


async def test_a_short_password_re_renders_the_form_with_the_reason(uow, client) -> None:
    _, _, token = await invited(uow)
    page = await client.get(f"/console/invite/{token}")
    response = await client.post(
        f"/console/invite/{token}",
        data={"csrf_token": csrf_of(page.text), "name": "Ana", "password": "short"},
    )
    assert response.status_code == 422
    assert "at least 8 characters" in response.text and 'value="Ana"' in response.text


async def test_the_emailed_link_leads_to_the_console_page(uow, client) -> None:
    _, _, token = await invited(uow)
    response = await client.get(f"/invite/{token}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/invite/{token}"


async def test_sign_up_then_verify_through_the_console_places_by_domain(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        world.operator.self_signup_enabled = True
        acme = await make_account(s, world.operator, domains=("acme.example",))
    page = await client.get("/console/signup")
    done = await client.post(
        "/console/signup",
        data={
            "csrf_token": csrf_of(page.text),
            "operator": world.operator.slug,
            "email": "bo@acme.example",
            "name": "Bo",
            "password": SIGNUP_PASSWORD,
        },
    )
    assert done.status_code == 200
    async with uow() as s:
        token = await link_token(s, "bo@acme.example", "verify-email")
        assert (await user_by_email(s, "bo@acme.example")).account_id == world.default_account.id
    confirm = await client.get(f"/console/verify-email/{token}")
    async with uow() as s:  # a GET (a mail scanner's prefetch) verifies nothing
        assert (await user_by_email(s, "bo@acme.example")).email_verified_at is None
    verified = await client.post(
        f"/console/verify-email/{token}", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert verified.status_code == 200 and "confirmed" in verified.text
    async with uow() as s:
        assert (await user_by_email(s, "bo@acme.example")).account_id == acme.id


async def test_joining_through_the_console_page_creates_an_auto_assigned_member(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme Fleet")
        group = await make_group(
            s, acme, operator_id=world.operator.id, name="Vans", auto_assign=True
        )
        created = await service.create_join_link(
            s, await _subject(s, world.admin), MAILER, acme.id, expires_at=None, max_uses=None
        )
    token = created.url.rsplit("/", 1)[1]
    page = await client.get(f"/console/join/{token}")
    assert "Acme Fleet" in page.text
    await client.post(
        f"/console/join/{token}",
        data={
            "csrf_token": csrf_of(page.text),
            "email": "cy@anywhere.example",
            "name": "Cy",
            "password": SIGNUP_PASSWORD,
        },
    )
    async with uow() as s:
        user = await user_by_email(s, "cy@anywhere.example")
        assert await memberships_of(s, user.id) == [(group.id, "invitation_link")]
        assert (await s.execute(select(JoinLink.uses))).scalar_one() == 1


async def test_public_forms_over_the_rate_limit_answer_429(app_settings, engine) -> None:
    app = create_app(app_settings.model_copy(update={"public_rate_limit": 1}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get("/console/signup")
        form = {"csrf_token": csrf_of(page.text), "operator": "none", "email": "a@b.example"}
        first = await http.post("/console/signup", data={**form, "name": "A", "password": "x" * 8})
        second = await http.post("/console/signup", data={**form, "name": "A", "password": "x" * 8})
    await dispose(app)
    assert first.status_code == 403  # no such operator: sign-up unavailable
    assert second.status_code == 429
