"""Statement exports: CSV (one row per priced line, then the totals) and PDF (fpdf2)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from chargegroups.billing.rules import period_of
from chargegroups.billing.schemas import paid_by
from chargegroups.billing.service import StatementView
from chargegroups.kit.money import format_amount

CSV_COLUMNS = (
    "record",
    "statement_id",
    "period",
    "payer_user_id",
    "currency",
    "session_id",
    "stopped_at",
    "charge_point_id",
    "driver",
    "energy_kwh",
    "deciding_group",
    "discount",
    "paid_by",
    "late",
    "line_kind",
    "description",
    "amount",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    """Free text as a spreadsheet shows it, never as a formula (CSV injection)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _discount(discount: dict[str, object] | None) -> str:
    if not discount:
        return ""
    return "free" if discount.get("free") else f"{discount.get('percent')} %"


def statement_csv(view: StatementView) -> str:
    """Rows ``line`` (each priced line of each session, summing to its subtotal) and
    ``session_vat`` (each session's VAT), then ``subtotal``, ``vat`` and ``total``."""
    st = view.statement
    cur = st.currency
    label = period_of(st.period_start, view.timezone).label
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    base = {"statement_id": st.id, "period": label, "payer_user_id": st.payer_user_id}
    base["currency"] = cur
    for row in view.sessions:
        s = row.session
        session_fields = {
            **base,
            "session_id": s.id,
            "stopped_at": s.stopped_at.isoformat() if s.stopped_at else "",
            "charge_point_id": _text(row.charge_point_id),
            "driver": _text(row.driver_name),
            "energy_kwh": f"{s.energy_kwh.normalize():f}",
            "deciding_group": _text(row.deciding_group_name),
            "discount": _discount(s.discount),
            "paid_by": _text(paid_by(row)),
            "late": "yes" if s.stopped_at is not None and s.stopped_at < st.period_start else "no",
        }
        for line in s.lines or []:
            writer.writerow(
                {
                    **session_fields,
                    "record": "line",
                    "line_kind": line["kind"],
                    "description": _text(line["description"]),
                    "amount": format_amount(Decimal(line["amount"]), cur),
                }
            )
        writer.writerow(
            {
                **session_fields,
                "record": "session_vat",
                "line_kind": "vat",
                "description": "VAT",
                "amount": format_amount(s.vat or Decimal(0), cur),
            }
        )
    for record, amount in (("subtotal", st.subtotal), ("vat", st.vat), ("total", st.total)):
        writer.writerow({**base, "record": record, "amount": format_amount(amount, cur)})
    return out.getvalue()


def _latin1(text: str) -> str:
    """The PDF's core fonts cover Latin-1; other characters show as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _first_day(start: datetime, zone: ZoneInfo) -> str:
    return start.astimezone(zone).date().isoformat()


def _last_day(end: datetime, zone: ZoneInfo) -> str:
    """The period's end is exclusive (the next month's first instant): show the day before."""
    return (end.astimezone(zone).date() - timedelta(days=1)).isoformat()


def _duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}"


def statement_pdf(view: StatementView) -> bytes:
    """A one-statement document: payer, period, the sessions table, totals excl./incl. VAT."""
    st = view.statement
    cur = st.currency
    zone = ZoneInfo(view.timezone)
    period = period_of(st.period_start, view.timezone)
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Statement {period.label}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 10, _latin1(f"Statement {period.label}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    payer_kind = "Financial owner" if st.payer_kind == "financial_owner" else "Driver"
    for text in (
        f"Payer: {view.payer_name} ({payer_kind})",
        f"Period: {_first_day(st.period_start, zone)} to {_last_day(st.period_end, zone)} "
        f"({view.timezone})",
        f"Status: {st.status}    Currency: {cur}    Statement: {st.id}",
    ):
        pdf.cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", size=8)
    headings = ("Stopped", "Charger", "Driver", "kWh", "Duration", "Group", "Discount")
    money_headings = (f"Excl. VAT ({cur})", f"VAT ({cur})", f"Incl. VAT ({cur})")
    with pdf.table(
        col_widths=(26, 34, 34, 16, 16, 34, 18, 22, 18, 22),
        text_align=("LEFT",) * 7 + ("RIGHT",) * 3,
        headings_style=FontFace(emphasis="BOLD"),
        line_height=5,
    ) as table:
        table.row([*headings, *money_headings])
        for row in view.sessions:
            s = row.session
            late = s.stopped_at is not None and s.stopped_at < st.period_start
            stopped = _local(s.stopped_at, zone) if s.stopped_at else ""
            table.row(
                [
                    _latin1(stopped + (" (late)" if late else "")),
                    _latin1(row.charger_name),
                    _latin1(row.driver_name or ""),
                    f"{s.energy_kwh.normalize():f}",
                    _duration(s.charging_seconds),
                    _latin1(row.deciding_group_name or ""),
                    _latin1(_discount(s.discount)),
                    format_amount(s.subtotal or Decimal(0), cur),
                    format_amount(s.vat or Decimal(0), cur),
                    format_amount(s.total or Decimal(0), cur),
                ]
            )
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    for label, amount, bold in (
        ("Total excl. VAT", st.subtotal, False),
        ("VAT", st.vat, False),
        ("Total incl. VAT", st.total, True),
    ):
        pdf.set_font("Helvetica", style="B" if bold else "", size=10)
        pdf.cell(60, 6, label)
        pdf.cell(
            40, 6, f"{format_amount(amount, cur)} {cur}", align="R", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(2)
    pdf.set_font("Helvetica", style="I", size=8)
    pdf.multi_cell(
        0,
        4,
        "VAT is rounded once per session; the statement's VAT is the sum of its sessions' VAT. "
        "Sessions marked (late) ended in an earlier, already closed period.",
    )
    return bytes(pdf.output())
