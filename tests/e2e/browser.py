"""Helpers for the browser tests: signing in and README screenshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright.async_api import Page

from tests.fixtures.factories import PASSWORD

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
# `make screenshots` points this at docs/screenshots (the README's pictures); an ordinary test
# run still takes every screenshot, into a scratch folder, so the tree stays clean.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "chargegroups-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


async def sign_in(page: Page, operator_slug: str, email: str, password: str = PASSWORD) -> None:
    await page.goto("/console/login")
    await page.get_by_label("Operator").fill(operator_slug)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/")


async def screenshot(page: Page, name: str) -> None:
    """A README screenshot of the current screen at 1280x800."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def open_from_nav(page: Page, name: str) -> None:
    """Follow a link of the console's sidebar."""
    await page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()
