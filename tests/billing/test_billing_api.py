"""The statements REST API: shape, reach (R3), exports, closing and marking paid."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pypdf import PdfReader

from chargegroups.billing.service import assign_to_statement
from chargegroups.rate_plan.rules import Discount
from tests.billing.world import COST_PLUS, DEPOT, TOKYO, BillingWorld, build_world
from tests.fixtures.factories import bearer, make_operator, make_session

D = Decimal
MARCH = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


async def fleet_month(s) -> tuple[BillingWorld, str]:
    """Three Acme fleet sessions in March 2025 (paid by its owner); returns the statement id."""
    w = await build_world(s)
    ada, bob = w.acme_drivers
    fleet = {"financial_owner": w.owner, "payer_group": w.fleet, "deciding_group": w.fleet}
    sessions = [
        await make_session(
            s, w.charger, ada, terms=DEPOT, energy_kwh=D("25"), idle_seconds=1800,
            stopped_at=MARCH, **fleet,
        ),
        await make_session(
            s, w.charger, bob, terms=DEPOT, discount=Discount.percent(D("20")),
            energy_kwh=D("25"), idle_seconds=1800, stopped_at=MARCH + timedelta(days=1), **fleet,
        ),
        await make_session(
            s, w.charger, ada, terms=COST_PLUS, discount=Discount.free(),
            stopped_at=MARCH + timedelta(days=2), **fleet,
        ),
    ]  # fmt: skip
    for session in sessions:
        statement = await assign_to_statement(s, session)
    return w, statement.id


async def test_a_statement_shows_payer_period_sessions_and_totals(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.owner)
    body = (await client.get(f"/api/v1/statements/{statement_id}", headers=headers)).json()
    assert body["payer"] == {"kind": "financial_owner", "user_id": w.owner.id}
    assert body["period"]["start"] == "2025-02-28T23:00:00Z"
    assert body["period"]["label"] == "2025-03"
    assert body["status"] == "open"
    assert body["currency"] == "EUR"
    # P1 (15.12) + P2 (12.70) + a free session (0.00)
    assert body["subtotal"] == {"amount": "23.00", "currency": "EUR"}
    assert body["vat"] == {"amount": "4.82", "currency": "EUR"}
    assert body["total"] == {"amount": "27.82", "currency": "EUR"}
    first, second, free = body["sessions"]
    assert first["driver_name"] == "Ada Driver"
    assert first["charge_point_id"] == w.charger.charge_point_id
    assert first["energy_kwh"] == "25"
    assert first["deciding_group"] == {"id": w.fleet.id, "name": "Acme fleet"}
    assert first["paid_by"] == "paid by Acme fleet"
    assert first["late"] is False
    assert second["discount"] == {"percent": "20"}
    assert {"kind": "discount", "description": "20 % discount on energy", "amount": "-2.00"} in (
        second["lines"]
    )
    assert free["discount"] == {"free": True}
    assert free["total"] == {"amount": "0.00", "currency": "EUR"}


async def test_money_in_yen_has_no_decimals(uow, client) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(s, w.charger, w.self_payer, terms=TOKYO, stopped_at=MARCH)
        statement = await assign_to_statement(s, session)
        headers = await bearer(s, w.self_payer)
    body = (await client.get(f"/api/v1/statements/{statement.id}", headers=headers)).json()
    assert body["total"]["currency"] == "JPY"
    assert body["total"]["amount"].isdigit()


async def test_operator_admins_list_statements_by_period_status_and_payer(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        own = await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
        await assign_to_statement(s, own)
        april = await make_session(
            s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH + timedelta(days=30)
        )
        await assign_to_statement(s, april)
        headers = await bearer(s, w.admin)

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/api/v1/statements?{query}", headers=headers)
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert len(await ids("")) == 3
    assert len(await ids("period=2025-03")) == 2
    assert await ids(f"period=2025-03&payer_user_id={w.owner.id}") == [statement_id]
    assert await ids("status=closed") == []
    first = (await client.get("/api/v1/statements?limit=2", headers=headers)).json()
    rest = await ids(f"limit=2&cursor={first['next_cursor']}")
    assert len(first["items"]) == 2 and len(rest) == 1


async def test_a_bad_period_filter_is_a_validation_error(uow, client) -> None:
    async with uow() as s:
        w = await build_world(s)
        headers = await bearer(s, w.admin)
    response = await client.get("/api/v1/statements?period=2025-13", headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_period"


async def test_an_account_admin_reads_statements_of_its_members(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.acme_admin)
    response = await client.get(f"/api/v1/statements/{statement_id}", headers=headers)
    assert response.status_code == 200
    listed = (await client.get("/api/v1/statements", headers=headers)).json()["items"]
    assert [item["id"] for item in listed] == [statement_id]


async def test_another_accounts_admin_gets_404(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.beta_admin)
    for suffix in ("", ".csv", ".pdf"):
        response = await client.get(f"/api/v1/statements/{statement_id}{suffix}", headers=headers)
        assert response.status_code == 404
    assert (await client.get("/api/v1/statements", headers=headers)).json()["items"] == []


async def test_another_operators_admin_gets_404(uow, client) -> None:
    async with uow() as s:
        _, statement_id = await fleet_month(s)
        other = await make_operator(s)
        headers = await bearer(s, other.admin)
    response = await client.get(f"/api/v1/statements/{statement_id}", headers=headers)
    assert response.status_code == 404
    response = await client.post(f"/api/v1/statements/{statement_id}/mark-paid", headers=headers)
    assert response.status_code == 404


async def test_a_driver_cannot_read_its_financial_owners_statement(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.acme_drivers[0])
    response = await client.get(f"/api/v1/statements/{statement_id}", headers=headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/statements", headers=headers)).json()["items"] == []


async def test_a_driver_who_pays_for_itself_reads_its_own_statement(uow, client) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
        statement = await assign_to_statement(s, session)
        headers = await bearer(s, w.self_payer)
    body = (await client.get(f"/api/v1/statements/{statement.id}", headers=headers)).json()
    assert body["payer"] == {"kind": "driver", "user_id": w.self_payer.id}
    assert [item["id"] for item in body["sessions"]] == [session.id]


async def test_a_driver_sees_its_sessions_paid_by_its_group(uow, client) -> None:
    async with uow() as s:
        w, _ = await fleet_month(s)
        own = await make_session(s, w.charger, w.acme_drivers[1], terms=DEPOT, stopped_at=MARCH)
        headers = await bearer(s, w.acme_drivers[1])
    body = (await client.get("/api/v1/me/sessions?limit=1", headers=headers)).json()
    assert [item["id"] for item in body["items"]] == [own.id]
    assert body["items"][0]["paid_by"] == "paid by you"
    rest = await client.get(f"/api/v1/me/sessions?cursor={body['next_cursor']}", headers=headers)
    (fleet_session,) = rest.json()["items"]
    assert fleet_session["paid_by"] == "paid by Acme fleet"
    assert fleet_session["payer"]["group_name"] == "Acme fleet"
    assert rest.json()["next_cursor"] is None


async def test_the_csv_parses_back_to_the_same_figures(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.owner)
    statement = (await client.get(f"/api/v1/statements/{statement_id}", headers=headers)).json()
    response = await client.get(f"/api/v1/statements/{statement_id}.csv", headers=headers)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    lines = [r for r in rows if r["record"] == "line"]
    totals = {
        r["record"]: D(r["amount"]) for r in rows if r["record"] in ("subtotal", "vat", "total")
    }
    assert sum(D(r["amount"]) for r in lines) == totals["subtotal"]
    assert sum(D(r["amount"]) for r in rows if r["record"] == "session_vat") == totals["vat"]
    assert totals["subtotal"] + totals["vat"] == totals["total"]
    assert {k: f"{v:f}" for k, v in totals.items()} == {
        k: statement[k]["amount"] for k in ("subtotal", "vat", "total")
    }
    assert len(lines) == sum(len(session["lines"]) for session in statement["sessions"])
    for session in statement["sessions"]:
        mine = [D(r["amount"]) for r in lines if r["session_id"] == session["id"]]
        assert sum(mine) == D(session["subtotal"]["amount"])


async def test_csv_cells_never_start_a_formula(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        w.acme_drivers[0].name = "=HYPERLINK(1)"
        headers = await bearer(s, w.owner)
    response = await client.get(f"/api/v1/statements/{statement_id}.csv", headers=headers)
    drivers = {r["driver"] for r in csv.DictReader(io.StringIO(response.text)) if r["driver"]}
    assert "'=HYPERLINK(1)" in drivers


async def test_the_pdf_renders_with_payer_period_and_totals(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.owner)
    response = await client.get(f"/api/v1/statements/{statement_id}.pdf", headers=headers)
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Acme Finance" in text
    assert "2025-03" in text
    assert "23.00 EUR" in text  # excl. VAT
    assert "4.82 EUR" in text
    assert "27.82 EUR" in text  # incl. VAT


async def test_marking_an_open_statement_paid_is_a_conflict(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.admin)
    response = await client.post(f"/api/v1/statements/{statement_id}/mark-paid", headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "statement_not_closed"


async def test_a_closed_statement_can_be_marked_paid(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.admin)
    closed = await client.post(f"/api/v1/statements/{statement_id}/close", headers=headers)
    assert closed.json()["status"] == "closed"
    paid = await client.post(f"/api/v1/statements/{statement_id}/mark-paid", headers=headers)
    assert paid.status_code == 200
    assert paid.json()["status"] == "paid"
    events = (
        await client.get(f"/api/v1/audit-events?target_id={statement_id}", headers=headers)
    ).json()["items"]
    assert {e["action"] for e in events} >= {"statement.closed", "statement.paid"}
    assert {e["account_id"] for e in events} == {w.acme.id}


async def test_closing_a_closed_statement_again_is_a_conflict(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        headers = await bearer(s, w.admin)
    await client.post(f"/api/v1/statements/{statement_id}/close", headers=headers)
    again = await client.post(f"/api/v1/statements/{statement_id}/close", headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "statement_not_open"


async def test_only_operator_admins_close_or_mark_paid(uow, client) -> None:
    async with uow() as s:
        w, statement_id = await fleet_month(s)
        account_admin = await bearer(s, w.acme_admin)
        owner = await bearer(s, w.owner)
    for headers in (account_admin, owner):
        for action in ("close", "mark-paid"):
            response = await client.post(
                f"/api/v1/statements/{statement_id}/{action}", headers=headers
            )
            assert response.status_code == 403
    response = await client.post("/api/v1/statements/close?period=2025-03", headers=owner)
    assert response.status_code == 403


async def test_a_period_cannot_be_closed_before_it_ends(uow, client) -> None:
    async with uow() as s:
        w = await build_world(s)
        headers = await bearer(s, w.admin)
    response = await client.post("/api/v1/statements/close?period=2099-01", headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "period_not_ended"


async def test_a_late_session_is_flagged_on_the_next_periods_statement(uow, client) -> None:
    async with uow() as s:
        w, march_id = await fleet_month(s)
        headers = await bearer(s, w.admin)
    closed = await client.post("/api/v1/statements/close?period=2025-03", headers=headers)
    assert [item["id"] for item in closed.json()] == [march_id]
    async with uow() as s:
        late = await make_session(
            s, w.charger, w.acme_drivers[0], terms=DEPOT, stopped_at=MARCH + timedelta(days=3),
            financial_owner=w.owner, payer_group=w.fleet,
        )  # fmt: skip
        april = await assign_to_statement(s, late)
    march = (await client.get(f"/api/v1/statements/{march_id}", headers=headers)).json()
    assert len(march["sessions"]) == 3
    body = (await client.get(f"/api/v1/statements/{april.id}", headers=headers)).json()
    assert body["period"]["label"] == "2025-04"
    (session,) = body["sessions"]
    assert session["late"] is True
    assert session["original_period"]["label"] == "2025-03"
