"""Console pages by area; each module has one router, included by console/app.py."""

from __future__ import annotations

from fastapi import APIRouter

from chargegroups.console.pages import audit, groups, settings
from chargegroups.console.web import Viewer, templates

PAGE_ROUTERS: tuple[APIRouter, ...] = (settings.router, audit.router, groups.router)

NavItem = tuple[str, str, str]  # (active key, label, path)


def nav_for(viewer: Viewer) -> list[tuple[str, list[NavItem]]]:
    """The sidebar: what this viewer's grants let it reach, by role."""
    sections: list[tuple[str, list[NavItem]]] = [("Me", [("home", "My charging", "/")])]
    if viewer.is_operator_admin:
        sections.append(
            (
                "Operator",
                [
                    ("groups", "User Groups", "/groups"),
                    ("audit", "Audit log", "/audit"),
                    ("settings", "Operator Settings", "/settings"),
                ],
            )
        )
    elif viewer.is_account_admin:
        sections.append(
            (
                "My accounts",
                [("groups", "Groups", "/groups"), ("audit", "Audit log", "/audit")],
            )
        )
    return sections


templates.env.globals["nav_for"] = nav_for
