"""Group discounts on rate plans (G9) and their delegation to account admins."""

from __future__ import annotations

from sqlalchemy import select

from chargegroups.charger import revocation
from chargegroups.decision import loader
from chargegroups.decision.rules import decide
from chargegroups.kit.clock import utcnow
from chargegroups.models import AuditEvent
from tests.fixtures.factories import (
    add_member,
    bearer,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_rate_plan,
    make_user,
    set_discount,
)


def url(plan_id: str, group_id: str | None = None) -> str:
    base = f"/api/v1/rate-plans/{plan_id}/group-discounts"
    return base if group_id is None else f"{base}/{group_id}"


def delegation_url(account_id: str) -> str:
    return f"/api/v1/accounts/{account_id}/discount-delegation"


async def _delegated_world(s):  # type: ignore[no-untyped-def]
    """An operator with a plan, an account, its admin and an account-level group."""
    world = await make_operator(s)
    plan = await make_rate_plan(s, world.operator)
    account = await make_account(s, world.operator)
    admin = await make_user(s, world.operator, account, admin_of=(account,))
    group = await make_group(s, world.operator, account=account)
    return world, plan, account, admin, group


async def test_an_operator_admin_sets_a_discount_that_the_decision_applies(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        driver = await make_user(s, world.operator, world.default_account)
        everyone = await make_group(s, world.operator)
        await add_member(s, everyone, driver)
        charger = await make_charger(s, world.operator, rate_plan_id=plan.id)
        headers = await bearer(s, world.admin)
    response = await client.put(url(plan.id, everyone.id), json={"percent": "20"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["percent"] == "20" and response.json()["free"] is False
    async with uow() as s:
        facts = await loader.load_for_user_at_chargers(
            s,
            operator_id=charger.operator_id,
            charger_ids=[charger.id],
            user_id=driver.id,
            at=utcnow(),
        )
        d = decide(facts[charger.id])
    assert d.discount is not None and d.discount.to_dict() == {"percent": "20"}


async def test_a_discount_is_percent_or_free_never_both(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    for body in ({"percent": "20", "free": True}, {}, {"percent": "0"}, {"percent": "100.001"}):
        response = await client.put(url(plan.id, group.id), json=body, headers=headers)
        assert response.status_code == 422, body


async def test_an_account_admin_sets_a_discount_within_the_delegation(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, group = await _delegated_world(s)
        op_headers = await bearer(s, world.admin)
        headers = await bearer(s, admin)
    delegated = await client.put(
        delegation_url(account.id),
        json={"rate_plan_ids": [plan.id], "max_percent": "25"},
        headers=op_headers,
    )
    assert delegated.status_code == 200, delegated.text
    assert delegated.json() == {
        "account_id": account.id,
        "rate_plan_ids": [plan.id],
        "max_percent": "25",
        "free_allowed": False,
    }
    response = await client.put(url(plan.id, group.id), json={"percent": "25"}, headers=headers)
    assert response.status_code == 200, response.text
    async with uow() as s:
        event = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "group_discount.set"))
        ).scalar_one()
    assert (event.account_id, event.actor_id, event.target_id) == (account.id, admin.id, group.id)


async def test_above_the_cap_is_a_403_discount_above_cap(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, group = await _delegated_world(s)
        op_headers = await bearer(s, world.admin)
        headers = await bearer(s, admin)
    await client.put(
        delegation_url(account.id),
        json={"rate_plan_ids": [plan.id], "max_percent": "25"},
        headers=op_headers,
    )
    above = await client.put(url(plan.id, group.id), json={"percent": "25.01"}, headers=headers)
    free = await client.put(url(plan.id, group.id), json={"free": True}, headers=headers)
    assert (above.status_code, above.json()["code"]) == (403, "discount_above_cap")
    assert (free.status_code, free.json()["code"]) == (403, "discount_above_cap")


async def test_free_allowed_permits_every_discount(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, group = await _delegated_world(s)
        op_headers = await bearer(s, world.admin)
        headers = await bearer(s, admin)
    await client.put(
        delegation_url(account.id),
        json={"rate_plan_ids": [plan.id], "free_allowed": True},
        headers=op_headers,
    )
    free = await client.put(url(plan.id, group.id), json={"free": True}, headers=headers)
    assert free.status_code == 200 and free.json()["free"] is True


async def test_a_plan_not_delegated_is_a_403_plan_not_delegated(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, group = await _delegated_world(s)
        other_plan = await make_rate_plan(s, world.operator)
        op_headers = await bearer(s, world.admin)
        headers = await bearer(s, admin)
    never = await client.put(url(plan.id, group.id), json={"percent": "5"}, headers=headers)
    await client.put(
        delegation_url(account.id),
        json={"rate_plan_ids": [plan.id], "max_percent": "50"},
        headers=op_headers,
    )
    other = await client.put(url(other_plan.id, group.id), json={"percent": "5"}, headers=headers)
    assert (never.status_code, never.json()["code"]) == (403, "plan_not_delegated")
    assert (other.status_code, other.json()["code"]) == (403, "plan_not_delegated")


async def test_a_global_group_is_read_only_for_account_admins(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, _ = await _delegated_world(s)
        everyone = await make_group(s, world.operator)
        # G7: the global group touches the account (one of its members is in it), so its
        # admin sees it, read-only.
        await add_member(s, everyone, await make_user(s, world.operator, account))
        op_headers = await bearer(s, world.admin)
        headers = await bearer(s, admin)
    await client.put(
        delegation_url(account.id),
        json={"rate_plan_ids": [plan.id], "free_allowed": True},
        headers=op_headers,
    )
    response = await client.put(url(plan.id, everyone.id), json={"percent": "5"}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (403, "group_read_only")


async def test_another_accounts_group_is_not_found_for_account_admins(uow, client) -> None:
    async with uow() as s:
        world, plan, _, admin, _ = await _delegated_world(s)
        other = await make_account(s, world.operator)
        theirs = await make_group(s, world.operator, account=other)
        headers = await bearer(s, admin)
    response = await client.put(url(plan.id, theirs.id), json={"percent": "5"}, headers=headers)
    deleting = await client.delete(url(plan.id, theirs.id), headers=headers)
    assert (response.status_code, deleting.status_code) == (404, 404)


async def test_another_operators_plan_or_group_is_not_found(uow, client) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        my_plan = await make_rate_plan(s, here.operator)
        their_plan = await make_rate_plan(s, there.operator)
        my_group = await make_group(s, here.operator)
        their_group = await make_group(s, there.operator)
        headers = await bearer(s, here.admin)
    for plan_id, group_id in ((their_plan.id, my_group.id), (my_plan.id, their_group.id)):
        response = await client.put(url(plan_id, group_id), json={"free": True}, headers=headers)
        assert response.status_code == 404
    assert (await client.get(url(their_plan.id), headers=headers)).status_code == 404


async def test_a_driver_cannot_set_a_discount_on_its_own_accounts_group(uow, client) -> None:
    async with uow() as s:
        world, plan, account, _, group = await _delegated_world(s)
        driver = await make_user(s, world.operator, account)
        await add_member(s, group, driver)  # the driver sees its group, and may not change it
        headers = await bearer(s, driver)
    response = await client.put(url(plan.id, group.id), json={"percent": "5"}, headers=headers)
    assert response.status_code == 403


async def test_removing_a_discount_is_audited_and_revokes_no_access(uow, client) -> None:
    delivered: list[revocation.Revocation] = []
    stop = revocation.add_listener(delivered.append)
    try:
        async with uow() as s:
            world, plan, account, admin, group = await _delegated_world(s)
            await set_discount(s, plan, group, percent="10")
            op_headers = await bearer(s, world.admin)
            headers = await bearer(s, admin)
        await client.put(
            delegation_url(account.id),
            json={"rate_plan_ids": [plan.id], "max_percent": "10"},
            headers=op_headers,
        )
        lowered = await client.put(url(plan.id, group.id), json={"percent": "5"}, headers=headers)
        removed = await client.delete(url(plan.id, group.id), headers=headers)
        again = await client.delete(url(plan.id, group.id), headers=headers)
    finally:
        stop()
    assert (lowered.status_code, removed.status_code, again.status_code) == (200, 204, 404)
    assert delivered == []
    async with uow() as s:
        event = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "group_discount.removed"))
        ).scalar_one()
    assert event.account_id == account.id and event.before == {
        "rate_plan_id": plan.id,
        "percent": "5",
    }


async def test_the_discount_list_shows_what_the_caller_may_change(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, group = await _delegated_world(s)
        everyone = await make_group(s, world.operator)  # global, touching the account (G7)
        await add_member(s, everyone, await make_user(s, world.operator, account))
        hidden = await make_group(s, world.operator, account=await make_account(s, world.operator))
        for g in (group, everyone, hidden):
            await set_discount(s, plan, g, free=True)
        headers = await bearer(s, admin)
        op_headers = await bearer(s, world.admin)
    mine = (await client.get(url(plan.id), headers=headers)).json()["items"]
    everything = (await client.get(url(plan.id), headers=op_headers)).json()["items"]
    assert {(d["group_id"], d["read_only"]) for d in mine} == {
        (group.id, False),
        (everyone.id, True),
    }
    assert len(everything) == 3 and not any(d["read_only"] for d in everything)


async def test_only_operator_admins_delegate(uow, client) -> None:
    async with uow() as s:
        world, plan, account, admin, _ = await _delegated_world(s)
        other = await make_account(s, world.operator)
        headers = await bearer(s, admin)
    body = {"rate_plan_ids": [plan.id], "max_percent": "50"}
    own = await client.put(delegation_url(account.id), json=body, headers=headers)
    foreign = await client.put(delegation_url(other.id), json=body, headers=headers)
    assert (own.status_code, foreign.status_code) == (403, 404)
    readable = await client.get(delegation_url(account.id), headers=headers)
    assert readable.status_code == 200 and readable.json()["rate_plan_ids"] == []


async def test_a_delegation_names_only_the_operators_own_plans_and_a_cap(uow, client) -> None:
    async with uow() as s:
        world, plan, account, _, _ = await _delegated_world(s)
        there = await make_operator(s)
        foreign_plan = await make_rate_plan(s, there.operator)
        headers = await bearer(s, world.admin)
    foreign = await client.put(
        delegation_url(account.id),
        json={"rate_plan_ids": [foreign_plan.id], "max_percent": "10"},
        headers=headers,
    )
    uncapped = await client.put(
        delegation_url(account.id), json={"rate_plan_ids": [plan.id]}, headers=headers
    )
    assert (foreign.status_code, foreign.json()["code"]) == (422, "unknown_rate_plan")
    assert (uncapped.status_code, uncapped.json()["code"]) == (422, "discount_cap_required")


async def test_another_operators_account_delegation_is_not_found(uow, client) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        headers = await bearer(s, here.admin)
    response = await client.put(
        delegation_url(there.default_account.id),
        json={"rate_plan_ids": [], "free_allowed": False},
        headers=headers,
    )
    assert response.status_code == 404


async def test_a_global_group_that_does_not_touch_the_account_is_not_found(uow, client) -> None:
    """The discount endpoints use the groups' one reach rule (G7, R3): a global group with no
    member and no charger of the account does not exist for its admin."""
    async with uow() as s:
        world, plan, _account, admin, _ = await _delegated_world(s)
        elsewhere = await make_group(s, world.operator)
        headers = await bearer(s, admin)
    response = await client.put(url(plan.id, elsewhere.id), json={"percent": "5"}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
