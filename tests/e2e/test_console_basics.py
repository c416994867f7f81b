"""The console in a real browser: signing in, settings with field errors, phone width."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import PHONE, open_from_nav, screenshot, sign_in
from tests.e2e.world import make_network
from tests.fixtures.factories import make_account, make_operator, make_user

pytestmark = pytest.mark.e2e


async def test_operator_signs_in_and_sees_the_console(uow, page: Page) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="northgrid")
    await page.goto("/console/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await screenshot(page, "01-sign-in")
    await sign_in(page, "northgrid", world.admin.email)
    await expect(page.get_by_role("heading", name=f"Welcome, {world.admin.name}")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Console")).to_contain_text("Audit log")


async def test_settings_form_keeps_typed_values_and_shows_the_error_by_the_field(
    uow, page: Page
) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="northgrid")
    await sign_in(page, "northgrid", world.admin.email)
    await open_from_nav(page, "Operator Settings")
    await page.get_by_label("Network name").fill("North Grid Charging")
    await page.get_by_label("Time zone").fill("Mars/Olympus")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#e-timezone")).to_have_text("Unknown time zone.")
    await expect(page.get_by_label("Network name")).to_have_value("North Grid Charging")
    await page.get_by_label("Time zone").fill("Europe/Amsterdam")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_have_text("Operator settings saved.")


async def test_the_console_fits_a_phone_screen_without_sideways_scrolling(uow, page: Page) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="northgrid")
        account = await make_account(s, world.operator, name="Acme Fleet")
        driver = await make_user(s, world.operator, account, name="Dana Driver")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await sign_in(page, "northgrid", driver.email)
    await expect(page.get_by_role("heading", name="Welcome, Dana Driver")).to_be_visible()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_the_login_form_works_with_the_keyboard_alone(uow, page: Page) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="northgrid")
    await page.goto("/console/login")
    await page.keyboard.press("Tab")  # the skip link comes first
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Tab")  # the brand link
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Operator")).to_be_focused()
    await page.keyboard.type("northgrid")
    await page.keyboard.press("Tab")
    await page.keyboard.type(world.admin.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type("correct horse battery staple")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console/")
    await expect(page.get_by_role("heading", name=f"Welcome, {world.admin.name}")).to_be_visible()


async def test_a_table_page_fits_a_phone_screen(uow, page: Page) -> None:
    async with uow() as s:
        net = await make_network(s)
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await sign_in(page, "northgrid", net.acme_admin.email)
    for path in ("/console/groups", "/console/accounts", f"/console/chargers/{net.charger.id}"):
        await page.goto(path)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, path
