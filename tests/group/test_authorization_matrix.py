"""Who may do what: ONE table drives the tests below and docs/permissions.md.

Each row is an endpoint and a caller; each column a target object:
A (of account A), B (of account B), global (a global group; for chargers an operator-owned
one), other (an object of another operator). The caller "other op admin" is that other
operator's admin, so its "other" column is its own object (the positive control) and every
other column must be a 404: nothing leaks across operators.

Cells: a status code; `200+` the list answers 200 and holds the target, `200-` it answers 200
and does not; `·` no such target. Regenerate the docs with
`PYTHONPATH=src python -m tests.group.test_authorization_matrix`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.factories import (
    add_member,
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_user,
)

TABLE = """
| endpoint | caller | A | B | global | other |
|---|---|---|---|---|---|
| GET /groups | op admin | 200+ | 200+ | 200+ | 200- |
| GET /groups | admin of A | 200+ | 200- | 200+ | 200- |
| GET /groups | admin of B | 200- | 200+ | 200+ | 200- |
| GET /groups | driver of A | 200+ | 200- | 200+ | 200- |
| GET /groups | anonymous | 401 | 401 | 401 | 401 |
| GET /groups | other op admin | 200- | 200- | 200- | 200+ |
| POST /groups | op admin | 201 | 201 | 201 | 404 |
| POST /groups | admin of A | 201 | 404 | 403 | 404 |
| POST /groups | admin of B | 404 | 403 | 403 | 404 |
| POST /groups | driver of A | 404 | 404 | 403 | 404 |
| POST /groups | anonymous | 401 | 401 | 401 | 401 |
| POST /groups | other op admin | 404 | 404 | 201 | 201 |
| GET /groups/{id} | op admin | 200 | 200 | 200 | 404 |
| GET /groups/{id} | admin of A | 200 | 404 | 200 | 404 |
| GET /groups/{id} | admin of B | 404 | 200 | 200 | 404 |
| GET /groups/{id} | driver of A | 200 | 404 | 200 | 404 |
| GET /groups/{id} | anonymous | 401 | 401 | 401 | 401 |
| GET /groups/{id} | other op admin | 404 | 404 | 404 | 200 |
| PATCH /groups/{id} | op admin | 200 | 200 | 200 | 404 |
| PATCH /groups/{id} | admin of A | 403 | 404 | 403 | 404 |
| PATCH /groups/{id} | admin of B | 404 | 403 | 403 | 404 |
| PATCH /groups/{id} | driver of A | 403 | 404 | 403 | 404 |
| PATCH /groups/{id} | anonymous | 401 | 401 | 401 | 401 |
| PATCH /groups/{id} | other op admin | 404 | 404 | 404 | 200 |
| DELETE /groups/{id} | op admin | 204 | 204 | 204 | 404 |
| DELETE /groups/{id} | admin of A | 403 | 404 | 403 | 404 |
| DELETE /groups/{id} | admin of B | 404 | 403 | 403 | 404 |
| DELETE /groups/{id} | driver of A | 403 | 404 | 403 | 404 |
| DELETE /groups/{id} | anonymous | 401 | 401 | 401 | 401 |
| DELETE /groups/{id} | other op admin | 404 | 404 | 404 | 204 |
| GET /groups/{id}/members | op admin | 200 | 200 | 200 | 404 |
| GET /groups/{id}/members | admin of A | 200 | 404 | 200 | 404 |
| GET /groups/{id}/members | admin of B | 404 | 200 | 200 | 404 |
| GET /groups/{id}/members | driver of A | 403 | 404 | 403 | 404 |
| GET /groups/{id}/members | anonymous | 401 | 401 | 401 | 401 |
| GET /groups/{id}/members | other op admin | 404 | 404 | 404 | 200 |
| POST /groups/{id}/members | op admin | 200 | 200 | 200 | 404 |
| POST /groups/{id}/members | admin of A | 200 | 404 | 403 | 404 |
| POST /groups/{id}/members | admin of B | 404 | 200 | 403 | 404 |
| POST /groups/{id}/members | driver of A | 403 | 404 | 403 | 404 |
| POST /groups/{id}/members | anonymous | 401 | 401 | 401 | 401 |
| POST /groups/{id}/members | other op admin | 404 | 404 | 404 | 200 |
| POST /groups/{id}/members/add-all-account-members | op admin | 200 | 200 | 422 | 404 |
| POST /groups/{id}/members/add-all-account-members | admin of A | 200 | 404 | 403 | 404 |
| POST /groups/{id}/members/add-all-account-members | admin of B | 404 | 200 | 403 | 404 |
| POST /groups/{id}/members/add-all-account-members | driver of A | 403 | 404 | 403 | 404 |
| POST /groups/{id}/members/add-all-account-members | anonymous | 401 | 401 | 401 | 401 |
| POST /groups/{id}/members/add-all-account-members | other op admin | 404 | 404 | 404 | 200 |
| DELETE /groups/{id}/members/{user_id} | op admin | 204 | 204 | 204 | 404 |
| DELETE /groups/{id}/members/{user_id} | admin of A | 204 | 404 | 403 | 404 |
| DELETE /groups/{id}/members/{user_id} | admin of B | 404 | 204 | 403 | 404 |
| DELETE /groups/{id}/members/{user_id} | driver of A | 403 | 404 | 403 | 404 |
| DELETE /groups/{id}/members/{user_id} | anonymous | 401 | 401 | 401 | 401 |
| DELETE /groups/{id}/members/{user_id} | other op admin | 404 | 404 | 404 | 204 |
| GET /accounts | op admin | 200+ | 200+ | · | 200- |
| GET /accounts | admin of A | 200+ | 200- | · | 200- |
| GET /accounts | admin of B | 200- | 200+ | · | 200- |
| GET /accounts | driver of A | 403 | 403 | · | 403 |
| GET /accounts | anonymous | 401 | 401 | · | 401 |
| GET /accounts | other op admin | 200- | 200- | · | 200+ |
| POST /accounts | op admin | 201 | · | · | · |
| POST /accounts | admin of A | 403 | · | · | · |
| POST /accounts | admin of B | 403 | · | · | · |
| POST /accounts | driver of A | 403 | · | · | · |
| POST /accounts | anonymous | 401 | · | · | · |
| POST /accounts | other op admin | 201 | · | · | · |
| GET /accounts/{id} | op admin | 200 | 200 | · | 404 |
| GET /accounts/{id} | admin of A | 200 | 404 | · | 404 |
| GET /accounts/{id} | admin of B | 404 | 200 | · | 404 |
| GET /accounts/{id} | driver of A | 404 | 404 | · | 404 |
| GET /accounts/{id} | anonymous | 401 | 401 | · | 401 |
| GET /accounts/{id} | other op admin | 404 | 404 | · | 200 |
| PATCH /accounts/{id} (name) | op admin | 200 | 200 | · | 404 |
| PATCH /accounts/{id} (name) | admin of A | 200 | 404 | · | 404 |
| PATCH /accounts/{id} (name) | admin of B | 404 | 200 | · | 404 |
| PATCH /accounts/{id} (name) | driver of A | 404 | 404 | · | 404 |
| PATCH /accounts/{id} (name) | anonymous | 401 | 401 | · | 401 |
| PATCH /accounts/{id} (name) | other op admin | 404 | 404 | · | 200 |
| PATCH /accounts/{id} (domains) | op admin | 200 | 200 | · | 404 |
| PATCH /accounts/{id} (domains) | admin of A | 403 | 404 | · | 404 |
| PATCH /accounts/{id} (domains) | admin of B | 404 | 403 | · | 404 |
| PATCH /accounts/{id} (domains) | driver of A | 404 | 404 | · | 404 |
| PATCH /accounts/{id} (domains) | anonymous | 401 | 401 | · | 401 |
| PATCH /accounts/{id} (domains) | other op admin | 404 | 404 | · | 200 |
| GET /accounts/{id}/members | op admin | 200 | 200 | · | 404 |
| GET /accounts/{id}/members | admin of A | 200 | 404 | · | 404 |
| GET /accounts/{id}/members | admin of B | 404 | 200 | · | 404 |
| GET /accounts/{id}/members | driver of A | 404 | 404 | · | 404 |
| GET /accounts/{id}/members | anonymous | 401 | 401 | · | 401 |
| GET /accounts/{id}/members | other op admin | 404 | 404 | · | 200 |
| POST /accounts/{id}/admins | op admin | 201 | 201 | · | 404 |
| POST /accounts/{id}/admins | admin of A | 403 | 404 | · | 404 |
| POST /accounts/{id}/admins | admin of B | 404 | 403 | · | 404 |
| POST /accounts/{id}/admins | driver of A | 404 | 404 | · | 404 |
| POST /accounts/{id}/admins | anonymous | 401 | 401 | · | 401 |
| POST /accounts/{id}/admins | other op admin | 404 | 404 | · | 201 |
| DELETE /accounts/{id}/admins/{user_id} | op admin | 204 | 204 | · | 404 |
| DELETE /accounts/{id}/admins/{user_id} | admin of A | 403 | 404 | · | 404 |
| DELETE /accounts/{id}/admins/{user_id} | admin of B | 404 | 403 | · | 404 |
| DELETE /accounts/{id}/admins/{user_id} | driver of A | 404 | 404 | · | 404 |
| DELETE /accounts/{id}/admins/{user_id} | anonymous | 401 | 401 | · | 401 |
| DELETE /accounts/{id}/admins/{user_id} | other op admin | 404 | 404 | · | 204 |
| PATCH /users/{id} | op admin | 200 | 200 | · | 404 |
| PATCH /users/{id} | admin of A | 403 | 404 | · | 404 |
| PATCH /users/{id} | admin of B | 404 | 403 | · | 404 |
| PATCH /users/{id} | driver of A | 404 | 404 | · | 404 |
| PATCH /users/{id} | anonymous | 401 | 401 | · | 401 |
| PATCH /users/{id} | other op admin | 404 | 404 | · | 200 |
| GET /users/{id}/tokens | op admin | 200 | 200 | · | 404 |
| GET /users/{id}/tokens | admin of A | 200 | 404 | · | 404 |
| GET /users/{id}/tokens | admin of B | 404 | 200 | · | 404 |
| GET /users/{id}/tokens | driver of A | 404 | 404 | · | 404 |
| GET /users/{id}/tokens | anonymous | 401 | 401 | · | 401 |
| GET /users/{id}/tokens | other op admin | 404 | 404 | · | 200 |
| POST /users/{id}/tokens | op admin | 201 | 201 | · | 404 |
| POST /users/{id}/tokens | admin of A | 201 | 404 | · | 404 |
| POST /users/{id}/tokens | admin of B | 404 | 201 | · | 404 |
| POST /users/{id}/tokens | driver of A | 404 | 404 | · | 404 |
| POST /users/{id}/tokens | anonymous | 401 | 401 | · | 401 |
| POST /users/{id}/tokens | other op admin | 404 | 404 | · | 201 |
| PATCH /tokens/{id} | op admin | 200 | 200 | · | 404 |
| PATCH /tokens/{id} | admin of A | 200 | 404 | · | 404 |
| PATCH /tokens/{id} | admin of B | 404 | 200 | · | 404 |
| PATCH /tokens/{id} | driver of A | 404 | 404 | · | 404 |
| PATCH /tokens/{id} | anonymous | 401 | 401 | · | 401 |
| PATCH /tokens/{id} | other op admin | 404 | 404 | · | 200 |
| GET /chargers | op admin | 200+ | 200+ | 200+ | 200- |
| GET /chargers | admin of A | 200+ | 200- | 200- | 200- |
| GET /chargers | admin of B | 200- | 200+ | 200- | 200- |
| GET /chargers | driver of A | 403 | 403 | 403 | 403 |
| GET /chargers | anonymous | 401 | 401 | 401 | 401 |
| GET /chargers | other op admin | 200- | 200- | 200- | 200+ |
| POST /chargers | op admin | 201 | 201 | 201 | 422 |
| POST /chargers | admin of A | 403 | 403 | 403 | 403 |
| POST /chargers | admin of B | 403 | 403 | 403 | 403 |
| POST /chargers | driver of A | 403 | 403 | 403 | 403 |
| POST /chargers | anonymous | 401 | 401 | 401 | 401 |
| POST /chargers | other op admin | 422 | 422 | 201 | 201 |
| GET /chargers/{id} | op admin | 200 | 200 | 200 | 404 |
| GET /chargers/{id} | admin of A | 200 | 404 | 404 | 404 |
| GET /chargers/{id} | admin of B | 404 | 200 | 404 | 404 |
| GET /chargers/{id} | driver of A | 404 | 404 | 404 | 404 |
| GET /chargers/{id} | anonymous | 401 | 401 | 401 | 401 |
| GET /chargers/{id} | other op admin | 404 | 404 | 404 | 200 |
| PATCH /chargers/{id} (access_mode) | op admin | 200 | 200 | 200 | 404 |
| PATCH /chargers/{id} (access_mode) | admin of A | 200 | 404 | 404 | 404 |
| PATCH /chargers/{id} (access_mode) | admin of B | 404 | 200 | 404 | 404 |
| PATCH /chargers/{id} (access_mode) | driver of A | 404 | 404 | 404 | 404 |
| PATCH /chargers/{id} (access_mode) | anonymous | 401 | 401 | 401 | 401 |
| PATCH /chargers/{id} (access_mode) | other op admin | 404 | 404 | 404 | 200 |
| PATCH /chargers/{id} (name) | op admin | 200 | 200 | 200 | 404 |
| PATCH /chargers/{id} (name) | admin of A | 403 | 404 | 404 | 404 |
| PATCH /chargers/{id} (name) | admin of B | 404 | 403 | 404 | 404 |
| PATCH /chargers/{id} (name) | driver of A | 404 | 404 | 404 | 404 |
| PATCH /chargers/{id} (name) | anonymous | 401 | 401 | 401 | 401 |
| PATCH /chargers/{id} (name) | other op admin | 404 | 404 | 404 | 200 |
| GET /chargers/{id}/scope | op admin | 200 | 200 | 200 | 404 |
| GET /chargers/{id}/scope | admin of A | 200 | 404 | 404 | 404 |
| GET /chargers/{id}/scope | admin of B | 404 | 200 | 404 | 404 |
| GET /chargers/{id}/scope | driver of A | 404 | 404 | 404 | 404 |
| GET /chargers/{id}/scope | anonymous | 401 | 401 | 401 | 401 |
| GET /chargers/{id}/scope | other op admin | 404 | 404 | 404 | 200 |
| PUT /chargers/{id}/scope/{group_id} | op admin | 204 | 204 | 204 | 404 |
| PUT /chargers/{id}/scope/{group_id} | admin of A | 204 | 404 | 403 | 404 |
| PUT /chargers/{id}/scope/{group_id} | admin of B | 404 | 204 | 404 | 404 |
| PUT /chargers/{id}/scope/{group_id} | driver of A | 404 | 404 | 404 | 404 |
| PUT /chargers/{id}/scope/{group_id} | anonymous | 401 | 401 | 401 | 401 |
| PUT /chargers/{id}/scope/{group_id} | other op admin | 404 | 404 | 404 | 204 |
| DELETE /chargers/{id}/scope/{group_id} | op admin | 204 | 204 | 204 | 404 |
| DELETE /chargers/{id}/scope/{group_id} | admin of A | 204 | 404 | 403 | 404 |
| DELETE /chargers/{id}/scope/{group_id} | admin of B | 404 | 204 | 404 | 404 |
| DELETE /chargers/{id}/scope/{group_id} | driver of A | 404 | 404 | 404 | 404 |
| DELETE /chargers/{id}/scope/{group_id} | anonymous | 401 | 401 | 401 | 401 |
| DELETE /chargers/{id}/scope/{group_id} | other op admin | 404 | 404 | 404 | 204 |
"""

TARGETS = ("A", "B", "global", "other")
DOCS = Path(__file__).parents[2] / "docs" / "permissions.md"
DOCS_HEAD = """# Who may do what

Generated from the table in `tests/group/test_authorization_matrix.py`, which the test suite runs
cell by cell (`PYTHONPATH=src python -m tests.group.test_authorization_matrix` rewrites this file;
a test fails when the two differ).

Callers: an operator admin (`op admin`), the account admin of account A (`admin of A`), of
account B (`admin of B`), a driver (member) of account A, an anonymous client, and the
operator admin of another operator (`other op admin`).

Targets: the object of account A, of account B, a global group (for chargers: a charger the
operator owns itself, for charger scope: the global group on A's charger), and the object of
another operator (`other`: for `other op admin` that is its own object, a positive control).
The global group has members in A and in B, so both account admins see it, read-only.

Cells: the HTTP status; `200+` the list holds the target, `200-` it does not; `·` no such
target. 404 means "outside your reach" and never tells an object exists (R3); 403 means you
can see it but may not do this (for global groups: code `group_read_only`, G7).

Decisions worth knowing:
- Account admins read their accounts and may change only the account's **name**; email
  domains, default rate plan and `admins_may_create_groups` stay with operator admins
  (403 `field_not_permitted`), because domains decide who lands on whose bill (A4).
- Account admins create groups only for an account whose `admins_may_create_groups` is on
  (G2; else 403 `group_creation_not_delegated`), and never global groups. Renaming, deleting
  and changing settings of any group is for operator admins (403 `operator_admin_only`).
- Account admins change only `access_mode` on their accounts' chargers (403
  `field_not_permitted` for other fields).
- Drivers see the groups they are in (read-only), not their members.
"""


@dataclass(frozen=True, slots=True)
class Cell:
    endpoint: str
    caller: str
    target: str
    expected: str


def parse(table: str) -> list[Cell]:
    cells = []
    for line in table.strip().splitlines()[2:]:
        endpoint, caller, *values = (part.strip() for part in line.strip("|").split("|"))
        assert len(values) == len(TARGETS), line
        for target, expected in zip(TARGETS, values, strict=True):
            if expected != "·":
                cells.append(Cell(endpoint, caller, target, expected))
    return cells


def render() -> str:
    return DOCS_HEAD + "\n" + TABLE.strip() + "\n"


@dataclass
class World:
    ids: dict[str, str]
    headers: dict[str, dict[str, str]]


async def build_world(s: Any) -> World:
    x = await make_operator(s)
    a = await make_account(s, x.operator, name="A", admins_may_create_groups=True)
    b = await make_account(s, x.operator, name="B")
    admin_a = await make_user(s, x.operator, a, admin_of=(a,))
    admin_b = await make_user(s, x.operator, b, admin_of=(b,))
    driver_a = await make_user(s, x.operator, a)
    user_b = await make_user(s, x.operator, b)
    spare_a = await make_user(s, x.operator, a)
    spare_b = await make_user(s, x.operator, b)
    group_a = await make_group(s, x.operator, account=a)
    group_b = await make_group(s, x.operator, account=b)
    group_g = await make_group(s, x.operator)
    await add_member(s, group_a, driver_a)
    await add_member(s, group_b, user_b)
    await add_member(s, group_g, driver_a)
    await add_member(s, group_g, user_b)
    charger_a = await make_charger(s, x.operator, account=a)
    charger_b = await make_charger(s, x.operator, account=b)
    charger_o = await make_charger(s, x.operator)
    await link_scope(s, charger_a, group_a)
    await link_scope(s, charger_b, group_b)
    await link_scope(s, charger_a, group_g)
    token_a = await make_driver_token(s, spare_a)
    token_b = await make_driver_token(s, spare_b)

    y = await make_operator(s)
    acct_y = await make_account(s, y.operator)
    admin_y = await make_user(s, y.operator, acct_y, admin_of=(acct_y,))
    spare_y = await make_user(s, y.operator, acct_y)
    group_y = await make_group(s, y.operator, account=acct_y)
    await add_member(s, group_y, spare_y)
    charger_y = await make_charger(s, y.operator, account=acct_y)
    await link_scope(s, charger_y, group_y)
    token_y = await make_driver_token(s, spare_y)

    ids = {
        "account A": a.id,
        "account B": b.id,
        "account other": acct_y.id,
        "group A": group_a.id,
        "group B": group_b.id,
        "group global": group_g.id,
        "group other": group_y.id,
        "member A": driver_a.id,
        "member B": user_b.id,
        "member global": driver_a.id,
        "member other": spare_y.id,
        "spare A": spare_a.id,
        "spare B": spare_b.id,
        "spare global": spare_a.id,
        "spare other": spare_y.id,
        "admin A": admin_a.id,
        "admin B": admin_b.id,
        "admin other": admin_y.id,
        "token A": token_a.id,
        "token B": token_b.id,
        "token other": token_y.id,
        "charger A": charger_a.id,
        "charger B": charger_b.id,
        "charger global": charger_o.id,
        "charger other": charger_y.id,
        # Charger scope: the global group is linked to A's charger.
        "scope charger A": charger_a.id,
        "scope charger B": charger_b.id,
        "scope charger global": charger_a.id,
        "scope charger other": charger_y.id,
    }
    headers = {
        "op admin": await bearer(s, x.admin),
        "admin of A": await bearer(s, admin_a),
        "admin of B": await bearer(s, admin_b),
        "driver of A": await bearer(s, driver_a),
        "anonymous": {},
        "other op admin": await bearer(s, y.admin),
    }
    return World(ids=ids, headers=headers)


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    json: Any = None
    find: str | None = None  # for lists: the id the target stands for


def _scope(w: World, t: str) -> dict[str, str]:
    if t == "global":
        return {"kind": "all_accounts"}
    return {"kind": "account", "account_id": w.ids[f"account {t}"]}


CALLS: dict[str, Callable[[World, str], Call]] = {
    "GET /groups": lambda w, t: Call("GET", "/groups?limit=500", find=w.ids[f"group {t}"]),
    "POST /groups": lambda w, t: Call("POST", "/groups", {"name": "New", "scope": _scope(w, t)}),
    "GET /groups/{id}": lambda w, t: Call("GET", f"/groups/{w.ids[f'group {t}']}"),
    "PATCH /groups/{id}": lambda w, t: Call(
        "PATCH", f"/groups/{w.ids[f'group {t}']}", {"description": "changed"}
    ),
    "DELETE /groups/{id}": lambda w, t: Call("DELETE", f"/groups/{w.ids[f'group {t}']}"),
    "GET /groups/{id}/members": lambda w, t: Call("GET", f"/groups/{w.ids[f'group {t}']}/members"),
    "POST /groups/{id}/members": lambda w, t: Call(
        "POST", f"/groups/{w.ids[f'group {t}']}/members", {"user_ids": [w.ids[f"spare {t}"]]}
    ),
    "POST /groups/{id}/members/add-all-account-members": lambda w, t: Call(
        "POST", f"/groups/{w.ids[f'group {t}']}/members/add-all-account-members"
    ),
    "DELETE /groups/{id}/members/{user_id}": lambda w, t: Call(
        "DELETE", f"/groups/{w.ids[f'group {t}']}/members/{w.ids[f'member {t}']}"
    ),
    "GET /accounts": lambda w, t: Call("GET", "/accounts?limit=500", find=w.ids[f"account {t}"]),
    "POST /accounts": lambda w, t: Call("POST", "/accounts", {"name": "New account"}),
    "GET /accounts/{id}": lambda w, t: Call("GET", f"/accounts/{w.ids[f'account {t}']}"),
    "PATCH /accounts/{id} (name)": lambda w, t: Call(
        "PATCH", f"/accounts/{w.ids[f'account {t}']}", {"name": "Renamed"}
    ),
    "PATCH /accounts/{id} (domains)": lambda w, t: Call(
        "PATCH", f"/accounts/{w.ids[f'account {t}']}", {"email_domains": ["new.example"]}
    ),
    "GET /accounts/{id}/members": lambda w, t: Call(
        "GET", f"/accounts/{w.ids[f'account {t}']}/members"
    ),
    "POST /accounts/{id}/admins": lambda w, t: Call(
        "POST", f"/accounts/{w.ids[f'account {t}']}/admins", {"user_id": w.ids[f"spare {t}"]}
    ),
    "DELETE /accounts/{id}/admins/{user_id}": lambda w, t: Call(
        "DELETE", f"/accounts/{w.ids[f'account {t}']}/admins/{w.ids[f'admin {t}']}"
    ),
    "PATCH /users/{id}": lambda w, t: Call(
        "PATCH", f"/users/{w.ids[f'spare {t}']}", {"name": "Renamed"}
    ),
    "GET /users/{id}/tokens": lambda w, t: Call("GET", f"/users/{w.ids[f'spare {t}']}/tokens"),
    "POST /users/{id}/tokens": lambda w, t: Call(
        "POST", f"/users/{w.ids[f'spare {t}']}/tokens", {"uid": "NEWTOKEN", "type": "rfid"}
    ),
    "PATCH /tokens/{id}": lambda w, t: Call(
        "PATCH", f"/tokens/{w.ids[f'token {t}']}", {"blocked": True}
    ),
    "GET /chargers": lambda w, t: Call("GET", "/chargers?limit=500", find=w.ids[f"charger {t}"]),
    "POST /chargers": lambda w, t: Call(
        "POST",
        "/chargers",
        {
            "charge_point_id": "NEW-CP",
            "name": "New",
            "password": "long enough",
            "account_id": None if t == "global" else w.ids[f"account {t}"],
        },
    ),
    "GET /chargers/{id}": lambda w, t: Call("GET", f"/chargers/{w.ids[f'charger {t}']}"),
    "PATCH /chargers/{id} (access_mode)": lambda w, t: Call(
        "PATCH", f"/chargers/{w.ids[f'charger {t}']}", {"access_mode": "private"}
    ),
    "PATCH /chargers/{id} (name)": lambda w, t: Call(
        "PATCH", f"/chargers/{w.ids[f'charger {t}']}", {"name": "Renamed"}
    ),
    "GET /chargers/{id}/scope": lambda w, t: Call(
        "GET", f"/chargers/{w.ids[f'charger {t}']}/scope"
    ),
    "PUT /chargers/{id}/scope/{group_id}": lambda w, t: Call(
        "PUT", f"/chargers/{w.ids[f'scope charger {t}']}/scope/{w.ids[f'group {t}']}"
    ),
    "DELETE /chargers/{id}/scope/{group_id}": lambda w, t: Call(
        "DELETE", f"/chargers/{w.ids[f'scope charger {t}']}/scope/{w.ids[f'group {t}']}"
    ),
}

CELLS = parse(TABLE)


def test_every_endpoint_has_six_callers_and_a_request() -> None:
    endpoints = {c.endpoint for c in CELLS}
    assert endpoints == set(CALLS)
    for endpoint in endpoints:
        callers = {c.caller for c in CELLS if c.endpoint == endpoint}
        assert callers == {
            "op admin",
            "admin of A",
            "admin of B",
            "driver of A",
            "anonymous",
            "other op admin",
        }


def test_docs_permissions_md_is_the_table() -> None:
    assert DOCS.read_text() == render()


@pytest.mark.parametrize(
    "cell", CELLS, ids=[f"{c.endpoint} | {c.caller} | {c.target}" for c in CELLS]
)
async def test_matrix(cell: Cell, uow, client) -> None:
    async with uow() as s:
        world = await build_world(s)
    call = CALLS[cell.endpoint](world, cell.target)
    response = await client.request(
        call.method,
        "/api/v1" + call.path,
        json=call.json,
        headers=world.headers[cell.caller],
    )
    status = cell.expected.rstrip("+-")
    assert response.status_code == int(status), response.text
    if cell.expected.endswith(("+", "-")):
        listed = {item.get("id") for item in response.json()["items"]}
        assert (call.find in listed) == cell.expected.endswith("+")
    if response.status_code == 404:
        # Nothing of the object leaks into the answer.
        assert response.json()["code"] == "not_found"


if __name__ == "__main__":
    DOCS.write_text(render())
