"""The account's SCIM page in a real browser: a token made and shown once, used by an identity
provider, listed with its last use, revoked."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import sign_in
from tests.fixtures.factories import make_account, make_operator, make_user

pytestmark = pytest.mark.e2e


async def test_an_account_admin_makes_uses_and_revokes_a_scim_token(
    uow, page: Page, live_server: str
) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="northgrid")
        acme = await make_account(s, world.operator, name="Acme Fleet")
        admin = await make_user(s, world.operator, acme, name="Ada Admin", admin_of=(acme,))
    await sign_in(page, "northgrid", admin.email)
    await page.goto(f"/console/accounts/{acme.id}")
    scim = page.locator("#scim")
    await expect(scim).to_contain_text(f"{live_server}/scim/v2")
    await scim.get_by_label("Identity provider").fill("Entra ID")
    await scim.get_by_role("button", name="Create SCIM token").click()
    token = await page.get_by_label("New SCIM token").input_value()
    assert token.startswith("cg_scim_")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{live_server}/scim/v2", headers=headers) as idp:
        assert (await idp.get("/Users")).status_code == 200
        await page.goto(f"/console/accounts/{acme.id}")
        row = page.locator("#scim tbody tr", has_text="Entra ID")
        await expect(row).to_contain_text("by Ada Admin")
        await expect(row).not_to_contain_text("never")
        await expect(page.get_by_label("New SCIM token")).to_have_count(0)
        await row.get_by_role("button", name="Revoke").click()
        await expect(page.get_by_role("status")).to_contain_text("SCIM token revoked")
        await expect(page.locator("#scim")).to_contain_text("No SCIM token yet.")
        assert (await idp.get("/Users")).status_code == 401
