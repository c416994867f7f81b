"""News as it crosses processes (N1): within NOTIFY's payload limit, covering what was said."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chargegroups import news
from chargegroups.charger.revocation import Revocation
from chargegroups.kit import after_commit
from chargegroups.models import AccessToken, Charger, User

charger_ids = st.frozensets(st.uuids().map(str), max_size=400)
revocations = st.lists(
    st.builds(Revocation, st.sampled_from(["op-1", "op-2", "op-3"]), st.none() | charger_ids),
    max_size=30,
)
rows = st.lists(
    st.tuples(
        st.sampled_from([User, AccessToken, Charger]),
        st.none() | st.uuids().map(str),
        st.none() | st.just(frozenset({"password_hash"})),
    ),
    max_size=600,
)


def heard(payloads: list[str]) -> dict[str, list[object]]:
    told: dict[str, list[object]] = {}
    for payload in payloads:
        for name, items in json.loads(payload)["n"].items():
            channel = after_commit.channel(name)
            assert channel is not None
            told.setdefault(name, []).extend(channel.decode(i) for i in items)
    return told


def covers(told: Revocation, said: Revocation) -> bool:
    if told.operator_id not in (None, said.operator_id):
        return False
    if told.charger_ids is None:
        return True
    return said.charger_ids is not None and said.charger_ids <= told.charger_ids


@settings(max_examples=60, deadline=None)
@given(revocations, rows)
def test_every_payload_fits_and_what_is_heard_covers_what_was_said(
    said_revoked: list[Revocation], said_rows: list[tuple[type, str | None, frozenset[str] | None]]
) -> None:
    payloads = list(news.payloads({"revoked": said_revoked, "rows": said_rows}, sent_at=0.0))

    assert all(len(p.encode()) < 8000 for p in payloads)
    told = heard(payloads)
    told_revoked = [r for r in told.get("revoked", []) if isinstance(r, Revocation)]
    assert all(any(covers(t, s) for t in told_revoked) for s in said_revoked)
    # Every row a listener reacts to is heard, by its id or as "some rows of its table".
    told_rows = told.get("rows", [])
    for model, row_id, _ in said_rows:
        assert (model, row_id, None) in [(m, i, None) for m, i, _ in told_rows] or (
            model,
            None,
            None,
        ) in told_rows


def test_news_of_this_process_is_not_delivered_to_it_again() -> None:
    seen: list[list[Revocation]] = []
    channel = after_commit.channel("revoked")
    assert channel is not None
    stop = channel.add_listener(seen.append)
    try:
        (payload,) = news.payloads({"revoked": [Revocation("op", None)]}, sent_at=0.0)
        assert news.receive(payload) is None
        other = json.loads(payload) | {"o": "another process"}
        assert news.receive(json.dumps(other)) is not None
    finally:
        stop()

    assert seen == [[Revocation("op", None)]]


def test_news_not_understood_is_ignored() -> None:
    assert news.receive("not json") is None
    assert news.receive(json.dumps({"o": "x", "t": 0, "n": {"unknown": [1]}})) is not None
