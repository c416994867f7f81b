"""Console pages by area; each module has one router, included by console/app.py."""

from __future__ import annotations

from fastapi import APIRouter

from chargegroups.console.pages import (
    accounts,
    audit,
    chargers,
    groups,
    outbox,
    rate_plans,
    settings,
    statements,
    users,
    why,
)
from chargegroups.console.web import Viewer, templates

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    settings.router,
    audit.router,
    groups.router,
    accounts.router,
    users.router,
    chargers.router,
    why.router,
    outbox.router,
    rate_plans.router,
    statements.router,
)

NavItem = tuple[str, str, str]  # (active key, label, path)


def nav_for(viewer: Viewer) -> list[tuple[str, list[NavItem]]]:
    """The sidebar: what this viewer's grants let it reach, by role."""
    me: list[NavItem] = [("home", "My charging", "/"), ("statements", "Statements", "/statements")]
    if not viewer.subject.is_admin:
        me.append(("why", "Can I charge here?", "/why"))
    sections: list[tuple[str, list[NavItem]]] = [("Me", me)]
    if viewer.is_operator_admin:
        sections.append(
            (
                "Operator",
                [
                    ("groups", "User Groups", "/groups"),
                    ("accounts", "Accounts", "/accounts"),
                    ("users", "Users", "/users"),
                    ("chargers", "Chargers", "/chargers"),
                    ("rate_plans", "Rate plans", "/rate-plans"),
                    ("why", "Why (not)?", "/why"),
                    ("audit", "Audit log", "/audit"),
                    ("outbox", "Outbox", "/outbox"),
                    ("settings", "Operator Settings", "/settings"),
                ],
            )
        )
    elif viewer.is_account_admin:
        sections.append(
            (
                "My accounts",
                [
                    ("accounts", "Members", "/accounts"),
                    ("groups", "Groups", "/groups"),
                    ("chargers", "Chargers", "/chargers"),
                    ("rate_plans", "Discounts", "/rate-plans"),
                    ("why", "Why (not)?", "/why"),
                    ("audit", "Audit log", "/audit"),
                ],
            )
        )
    return sections


templates.env.globals["nav_for"] = nav_for
