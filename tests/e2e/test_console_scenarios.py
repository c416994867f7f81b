"""The console's main flows in a real browser, saving the README's screenshots on the way."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select

from chargegroups.models import OutboxEmail
from tests.e2e.browser import open_from_nav, screenshot, sign_in
from tests.e2e.world import make_network
from tests.fixtures.factories import add_member, make_group

pytestmark = pytest.mark.e2e


async def test_operator_creates_an_account_level_group_with_auto_assign_and_owner(
    uow, page: Page
) -> None:
    async with uow() as s:
        net = await make_network(s)
    await sign_in(page, "northgrid", net.operator_admin.email)
    await open_from_nav(page, "User Groups")
    await page.get_by_role("link", name="+ Add Group").click()
    await page.get_by_label("Group name").fill("Acme Pool Cars")
    await page.get_by_label("Description").fill("Shared vans and pool cars of the depot")
    await page.get_by_label("Specific Account").check()
    await page.get_by_label("Account", exact=True).select_option(label="Acme Fleet")
    # The owner picker follows the account: only Acme's members are offered.
    owner = page.get_by_label("Financial Owner")
    await expect(owner.locator("option", has_text="Fiona Finance")).to_have_count(1)
    await owner.select_option(label="Fiona Finance <fiona@acme.example>")
    await page.get_by_label("Auto assign new account members to this group").check()
    await page.get_by_label("Where the owner pays").select_option("scoped_chargers")
    await screenshot(page, "03-add-group")
    await page.get_by_role("button", name="Create group").click()
    await expect(page.get_by_role("status")).to_contain_text("Acme Pool Cars")
    await open_from_nav(page, "User Groups")
    row = page.get_by_role("row", name=re.compile("Acme Pool Cars"))
    await expect(row).to_contain_text("Account")
    await expect(row).to_contain_text("Acme Fleet")
    await expect(row).to_contain_text("On")
    await expect(row).to_contain_text("Fiona Finance")
    await screenshot(page, "02-user-groups")


async def test_auto_assign_is_disabled_for_an_all_accounts_group(uow, page: Page) -> None:
    async with uow() as s:
        net = await make_network(s)
    await sign_in(page, "northgrid", net.operator_admin.email)
    await page.goto("/console/groups/new")
    await page.get_by_label("All Accounts").check()
    await expect(
        page.get_by_label("Auto assign new account members to this group")
    ).to_be_disabled()


async def test_invited_driver_accepts_joins_the_auto_assign_group_and_sees_who_pays(
    uow, page: Page, context: BrowserContext
) -> None:
    async with uow() as s:
        net = await make_network(s)
        pool = await make_group(
            s, net.operator, account=net.acme, name="Acme Pool Cars", financial_owner=net.finance
        )
        pool.auto_assign = True
        for driver in net.drivers[1:]:
            await add_member(s, pool, driver)
    await sign_in(page, "northgrid", net.acme_admin.email)
    await open_from_nav(page, "Members")
    await expect(page.get_by_role("heading", name="Acme Fleet")).to_be_visible()
    await page.get_by_label("Email address").fill("dana@acme.example")
    await page.get_by_role("button", name="Send invitation").click()
    await expect(page.get_by_role("status")).to_have_text("Invitation sent to dana@acme.example.")
    await screenshot(page, "04-account-members")
    await page.get_by_role("button", name="Sign out").click()

    async with uow() as s:
        mail = (
            await s.execute(select(OutboxEmail).where(OutboxEmail.to == "dana@acme.example"))
        ).scalar_one()
    link = re.search(r"https?://\S+/invite/\S+", mail.body_text)
    assert link is not None
    await page.goto(link.group(0))
    await page.get_by_label("Your name").fill("Dana Driver")
    await page.get_by_label("Password").fill("dana-drives-electric")
    await page.get_by_role("button", name="Accept the invitation").click()
    await expect(page.get_by_role("heading", level=1)).to_be_visible()

    await sign_in(page, "northgrid", "dana@acme.example", "dana-drives-electric")
    await expect(page.locator(".chips")).to_contain_text("Acme Pool Cars")
    await expect(page.locator(".paid-by")).to_contain_text("Paid by Acme Pool Cars")
    await screenshot(page, "06-driver-home")


async def test_account_admin_assigns_its_group_to_its_chargers_scope(uow, page: Page) -> None:
    async with uow() as s:
        net = await make_network(s)
        await make_group(s, net.operator, account=net.acme, name="Night shift")
    await sign_in(page, "northgrid", net.acme_admin.email)
    await open_from_nav(page, "Chargers")
    await page.get_by_role("link", name="Acme depot, bay 1").click()
    await page.get_by_label("Add a group to the scope").select_option(label="Night shift")
    await page.get_by_role("button", name="Add to scope").click()
    await expect(page.get_by_role("status")).to_have_text("Group added to the charger's scope.")
    scope = page.locator("#scope")
    await expect(scope).to_contain_text("Night shift")
    # The operator's global group sits in the same scope, locked for the account admin.
    roaming = scope.locator("li", has_text="Roaming partners")
    await expect(roaming).to_contain_text("Read-only")
    await expect(roaming.get_by_role("button")).to_have_count(0)
    await screenshot(page, "05-charger-scope")


async def test_account_admin_sees_a_global_group_locked_and_cannot_edit_it(uow, page: Page) -> None:
    async with uow() as s:
        net = await make_network(s)
        await make_group(s, net.operator, account=net.acme, name="Acme Pool Cars")
    await sign_in(page, "northgrid", net.acme_admin.email)
    await open_from_nav(page, "Groups")
    row = page.get_by_role("row", name=re.compile("Roaming partners"))
    await expect(row).to_contain_text("Read-only")
    await expect(row.get_by_role("link", name="Edit")).to_have_count(0)
    await page.get_by_role("link", name="Roaming partners").click()
    await expect(page.get_by_role("heading", name=re.compile("Roaming partners"))).to_contain_text(
        "Read-only"
    )
    await expect(page.locator("main form")).to_have_count(0)
    await expect(page.get_by_role("link", name="Edit group")).to_have_count(0)
    await screenshot(page, "07-global-group-read-only")

    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = await page.request.post(
        f"/console/groups/{net.global_group.id}/edit",
        form={"csrf_token": token or "", "name": "Hijacked"},
    )
    assert response.status == 403
    assert "read-only" in await response.text()


async def test_operator_asks_why_a_driver_cannot_charge_at_a_private_charger(
    uow, page: Page
) -> None:
    async with uow() as s:
        net = await make_network(s)
        outsider = net.drivers[2]
        await add_member(
            s, await make_group(s, net.operator, account=net.acme, name="Night shift"), outsider
        )
    await sign_in(page, "northgrid", net.operator_admin.email)
    await open_from_nav(page, "Why (not)?")
    await page.get_by_label("Charger").select_option(label="Acme depot, bay 1 (ACME-DEPOT-01)")
    await page.get_by_label("Driver").select_option(
        label=f"{outsider.name} <{outsider.email}> · Acme Fleet"
    )
    await page.get_by_role("button", name="Explain").click()
    await expect(page.locator(".verdict")).to_contain_text("May not charge here")
    night = page.get_by_role("row", name=re.compile("Night shift"))
    await expect(night).to_contain_text("not in charger scope")
    await screenshot(page, "08-why-not")
