"""Money in the browser: an account admin's group discounts within the operator's delegation,
and a financial owner's statement with its downloads."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect

from chargegroups.billing.service import assign_to_statement
from chargegroups.kit.clock import utcnow
from chargegroups.models import DiscountDelegation, DiscountDelegationPlan
from chargegroups.rate_plan.rules import Fixed, IdleFee, RatePlanTerms
from tests.e2e.browser import open_from_nav, screenshot, sign_in
from tests.e2e.world import make_network
from tests.fixtures.factories import add_member, make_group, make_rate_plan, make_session

pytestmark = pytest.mark.e2e

DEPOT = RatePlanTerms(
    currency="EUR",
    vat_percent=Decimal("21"),
    energy=Fixed(Decimal("0.40")),
    connection_fee=Decimal("1.00"),
    idle_fee=IdleFee(Decimal("0.10"), 15),
)


async def test_account_admin_sets_a_discount_within_its_cap_and_not_above(uow, page: Page) -> None:
    async with uow() as s:
        net = await make_network(s)
        await make_group(s, net.operator, account=net.acme, name="Acme Pool Cars")
        plan = await make_rate_plan(s, net.operator, name="Depot")
        s.add(
            DiscountDelegation(
                account_id=net.acme.id, operator_id=net.operator.id, max_percent=Decimal("20")
            )
        )
        await s.flush()
        s.add(DiscountDelegationPlan(account_id=net.acme.id, rate_plan_id=plan.id))
    await sign_in(page, "northgrid", net.acme_admin.email)
    await open_from_nav(page, "Discounts")
    await page.get_by_role("link", name="Depot").click()
    await page.get_by_label("Group").select_option(label="Acme Pool Cars")
    await page.get_by_label("Percent", exact=True).fill("50")
    await page.get_by_role("button", name="Save discount").click()
    await expect(page.locator("#e-percent")).to_contain_text("above this account's cap")
    await expect(page.get_by_label("Percent", exact=True)).to_have_value("50")
    await page.get_by_label("Percent", exact=True).fill("15")
    await page.get_by_role("button", name="Save discount").click()
    await expect(page.get_by_role("status")).to_have_text("Group discount saved.")
    await expect(page.get_by_role("row", name=re.compile("Acme Pool Cars"))).to_contain_text("15")
    await screenshot(page, "09-group-discounts")


async def test_financial_owner_reads_its_statement_and_can_download_it(uow, page: Page) -> None:
    async with uow() as s:
        net = await make_network(s)
        pool = await make_group(
            s, net.operator, account=net.acme, name="Acme Pool Cars", financial_owner=net.finance
        )
        for driver in net.drivers:
            await add_member(s, pool, driver)
        stopped = utcnow() - timedelta(hours=1)
        for n, driver in enumerate(net.drivers):
            charged = await make_session(
                s,
                net.charger,
                driver,
                terms=DEPOT,
                stopped_at=stopped - timedelta(hours=3 * n),
                energy_kwh=Decimal(18 + 7 * n),
                financial_owner=net.finance,
                payer_group=pool,
                deciding_group=pool,
            )
            await assign_to_statement(s, charged)
    await sign_in(page, "northgrid", net.finance.email)
    await open_from_nav(page, "Statements")
    await page.get_by_role("row").nth(1).get_by_role("link").first.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Fiona Finance")
    await expect(page.locator("tbody tr")).to_have_count(3)
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download CSV").click()
    assert (await download.value).suggested_filename.endswith(".csv")
    await screenshot(page, "10-statement")
