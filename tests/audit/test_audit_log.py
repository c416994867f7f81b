from __future__ import annotations

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor
from tests.console.helpers import console_login
from tests.fixtures.factories import bearer, make_account, make_operator, make_user


async def test_a_change_writes_an_event_with_actor_before_after_and_request_id(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        "/api/v1/operator", json={"name": "New name"}, headers={**headers, "X-Request-ID": "req-42"}
    )
    assert response.headers["x-request-id"] == "req-42"
    events = (await client.get("/api/v1/audit-events", headers=headers)).json()["items"]
    event = next(e for e in events if e["action"] == "operator.updated")
    assert event["actor_id"] == world.admin.id
    assert event["actor_name"] == f"{world.admin.name} <{world.admin.email}>"
    assert event["before"] == {"name": world.operator.name}
    assert event["after"] == {"name": "New name"}
    assert event["request_id"] == "req-42"


async def test_a_refused_change_writes_no_event(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    await client.patch("/api/v1/operator", json={"timezone": "Nowhere/Else"}, headers=headers)
    events = (
        await client.get("/api/v1/audit-events?target_type=operator", headers=headers)
    ).json()["items"]
    assert [e["action"] for e in events] == []


async def test_account_admins_read_only_their_accounts_events_and_drivers_none(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        globex = await make_account(s, world.operator)
        acme_admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        driver = await make_user(s, world.operator, acme)
        for account in (acme, globex):
            await record_change(
                s,
                Actor("system", None),
                "account.updated",
                target_type="account",
                target_id=account.id,
                operator_id=world.operator.id,
                account_id=account.id,
            )
        admin_headers = await bearer(s, acme_admin)
        driver_headers = await bearer(s, driver)
        op_headers = await bearer(s, world.admin)
        other = await make_operator(s)
        other_headers = await bearer(s, other.admin)
    seen = (await client.get("/api/v1/audit-events", headers=admin_headers)).json()["items"]
    assert {e["target_id"] for e in seen} == {acme.id}
    assert {e["actor_name"] for e in seen} == {None}  # the system is nobody's name
    everything = (await client.get("/api/v1/audit-events", headers=op_headers)).json()["items"]
    assert {acme.id, globex.id} <= {e["target_id"] for e in everything}
    assert (await client.get("/api/v1/audit-events", headers=driver_headers)).status_code == 403
    foreign = (await client.get("/api/v1/audit-events", headers=other_headers)).json()["items"]
    assert not {acme.id, globex.id} & {e["target_id"] for e in foreign}


async def test_audit_pages_follow_the_cursor_newest_first(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        for i in range(7):
            await record_change(
                s,
                Actor("system", None),
                "thing.changed",
                target_type="thing",
                target_id=str(i),
                operator_id=world.operator.id,
            )
        headers = await bearer(s, world.admin)
    seen: list[str] = []
    cursor = None
    while True:
        query = "/api/v1/audit-events?target_type=thing&limit=3" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = (await client.get(query, headers=headers)).json()
        seen += [e["target_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(i) for i in reversed(range(7))]


async def test_the_console_log_names_who_acted(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    await client.patch("/api/v1/operator", json={"name": "Renamed"}, headers=headers)
    await console_login(client, world.operator, world.admin)
    log = await client.get("/console/audit")
    assert log.status_code == 200
    row = log.text[log.text.index("operator.updated") :]
    row = row[: row.index("</tr>")]
    assert f"{world.admin.name} &lt;{world.admin.email}&gt;" in row
