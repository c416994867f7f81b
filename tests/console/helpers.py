"""Signing in to the console over plain HTTP and reading a page's CSRF token."""

from __future__ import annotations

import re

import httpx

from chargegroups.models import Operator, User
from tests.fixtures.factories import PASSWORD


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "form without CSRF token"
    return match.group(1)


async def console_login(client: httpx.AsyncClient, operator: Operator, user: User) -> str:
    """Signs ``user`` in; returns the session's CSRF token."""
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(page.text),
            "operator": operator.slug,
            "email": user.email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    return csrf_of((await client.get("/console/")).text)
