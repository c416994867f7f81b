from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chargegroups.onboarding.rules import parse_members_csv

names = st.text(alphabet=st.characters(categories=("L",)), min_size=1, max_size=12)
locals_ = st.text(alphabet="abcdefghij", min_size=1, max_size=8)


def test_rows_carry_their_physical_line_numbers() -> None:
    rows, errors = parse_members_csv("email,name\na@x.example,A\n\nb@x.example,B\n")
    assert errors == []
    assert [(r.line, r.email) for r in rows] == [(2, "a@x.example"), (4, "b@x.example")]


def test_a_quoted_name_may_hold_a_comma() -> None:
    rows, _ = parse_members_csv('email,name\na@x.example,"Berg, Bo"\n')
    assert rows[0].name == "Berg, Bo"


def test_a_byte_order_mark_is_ignored() -> None:
    rows, errors = parse_members_csv("\ufeffemail,name\na@x.example,A\n")
    assert errors == [] and len(rows) == 1


def test_an_empty_file_is_an_error_on_line_one() -> None:
    assert [(e.line, e.field) for e in parse_members_csv("")[1]] == [(1, "header")]


@given(st.lists(st.tuples(locals_, names), min_size=1, max_size=20))
def test_every_address_appears_once_among_rows_and_duplicates_are_errors(entries) -> None:
    text = "email,name\n" + "".join(f"{local}@x.example,{name}\n" for local, name in entries)
    rows, errors = parse_members_csv(text)
    distinct = {local for local, _ in entries}
    assert sorted(r.email_normalized for r in rows) == sorted(f"{d}@x.example" for d in distinct)
    assert len(errors) == len(entries) - len(distinct)
    assert all(e.reason.startswith("duplicate of line") for e in errors)
