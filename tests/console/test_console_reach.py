"""Every console page checks the same grants as the API: another account's object is a 404
page, a read-only global group a 403 page, and every form post needs the CSRF token."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from starlette.routing import Mount, Route

from chargegroups.app import create_app
from chargegroups.billing.service import assign_to_statement
from chargegroups.config import Settings
from chargegroups.console.pages import PAGE_ROUTERS
from chargegroups.kit.clock import utcnow
from chargegroups.rate_plan.rules import Fixed, RatePlanTerms
from tests.console.helpers import console_login
from tests.fixtures.factories import (
    add_member,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_session,
    make_user,
)


@pytest.fixture
async def two_accounts(uow):  # type: ignore[no-untyped-def]
    async with uow() as s:
        world = await make_operator(s)
        mine = await make_account(s, world.operator, name="Mine")
        theirs = await make_account(s, world.operator, name="Theirs")
        admin = await make_user(s, world.operator, mine, admin_of=(mine,))
        stranger = await make_user(s, world.operator, theirs)
        their_group = await make_group(s, world.operator, account=theirs, name="Their group")
        global_group = await make_group(s, world.operator, name="Everyone")
        await add_member(s, global_group, admin)
        their_charger = await make_charger(s, world.operator, account=theirs)
    return world, admin, stranger, their_group, global_group, their_charger, theirs


@pytest.mark.parametrize(
    "path",
    [
        "/console/groups/{group}",
        "/console/groups/{group}/edit",
        "/console/groups/{group}/delete",
        "/console/accounts/{account}",
        "/console/chargers/{charger}",
        "/console/users/{user}",
    ],
)
async def test_another_accounts_object_is_a_404_page(client, two_accounts, path: str) -> None:
    world, admin, stranger, group, _, charger, theirs = two_accounts
    await console_login(client, world.operator, admin)
    url = path.format(group=group.id, account=theirs.id, charger=charger.id, user=stranger.id)
    response = await client.get(url)
    assert response.status_code == 404
    assert "Not found" in response.text
    assert group.name not in response.text


async def test_posting_to_another_accounts_group_is_a_404_page(client, two_accounts) -> None:
    world, admin, stranger, group, *_ = two_accounts
    token = await console_login(client, world.operator, admin)
    response = await client.post(
        f"/console/groups/{group.id}/members", data={"csrf_token": token, "user_ids": stranger.id}
    )
    assert response.status_code == 404


async def test_a_global_group_is_read_only_for_an_account_admin(client, two_accounts) -> None:
    world, admin, _, _, global_group, *_ = two_accounts
    token = await console_login(client, world.operator, admin)
    page = await client.get(f"/console/groups/{global_group.id}")
    assert page.status_code == 200
    assert "Read-only" in page.text
    assert f"/groups/{global_group.id}/edit" not in page.text
    response = await client.post(
        f"/console/groups/{global_group.id}/members/remove",
        data={"csrf_token": token, "user_ids": admin.id},
    )
    assert response.status_code == 403
    assert "read-only" in response.text


async def test_a_group_form_shows_the_error_next_to_the_field_and_keeps_the_input(
    client, uow
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator, name="Acme")
        await make_group(s, world.operator, account=account, name="Pool")
    token = await console_login(client, world.operator, world.admin)
    response = await client.post(
        "/console/groups/new",
        data={
            "csrf_token": token,
            "name": "pool",
            "description": "typed by hand",
            "scope_kind": "account",
            "account_id": account.id,
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="e-name">[^<]*exists', response.text)
    assert "typed by hand" in response.text


def _console_posts(settings: Settings) -> list[str]:
    app = create_app(settings)
    console = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/console")
    routes = [*console.routes, *(r for router in PAGE_ROUTERS for r in router.routes)]
    return sorted(
        route.path
        for route in routes
        if isinstance(route, Route) and "POST" in (route.methods or set())
    )


async def test_every_console_form_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, two_accounts, settings: Settings
) -> None:
    world, *_ = two_accounts
    await console_login(client, world.operator, world.admin)
    paths = _console_posts(settings)
    assert "/groups/new" in paths and "/login" in paths
    for path in paths:
        url = "/console" + re.sub(
            r"\{(\w+)\}", lambda m: "block" if m[1] == "action" else "x1", path
        )
        response = await client.post(url, data={"name": "x"})
        assert response.status_code == 403, path
        assert "did not come from this site" in response.text, path


async def test_another_payers_statement_is_a_404_page(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        payer = await make_user(s, world.operator, account)
        other = await make_user(s, world.operator, account)
        charger = await make_charger(s, world.operator)
        terms = RatePlanTerms(currency="EUR", vat_percent=Decimal("21"), energy=Fixed(Decimal("1")))
        charged = await make_session(s, charger, payer, terms=terms, stopped_at=utcnow())
        statement = await assign_to_statement(s, charged)
    await console_login(client, world.operator, other)
    for suffix in ("", ".csv", ".pdf"):
        response = await client.get(f"/console/statements/{statement.id}{suffix}")
        assert response.status_code == 404, suffix
    await console_login(client, world.operator, payer)
    assert (await client.get(f"/console/statements/{statement.id}.csv")).status_code == 200
