from __future__ import annotations

import pytest

from chargegroups.charger.revocation import Revocation, access_revoked, add_listener, merge


async def test_revocations_are_delivered_only_after_commit_and_merged(uow) -> None:
    seen: list[Revocation] = []
    remove = add_listener(seen.append)
    try:
        async with uow() as s:
            access_revoked(s, operator_id="op", charger_ids=["a"])
            access_revoked(s, operator_id="op", charger_ids=["b"])
            assert seen == []
        assert seen == [Revocation(operator_id="op", charger_ids=frozenset({"a", "b"}))]
    finally:
        remove()


async def test_a_rolled_back_change_revokes_nothing(uow) -> None:
    seen: list[Revocation] = []
    remove = add_listener(seen.append)
    try:
        with pytest.raises(RuntimeError):
            async with uow() as s:
                access_revoked(s, operator_id="op")
                raise RuntimeError("the change failed")
        async with uow() as s:
            pass
        assert seen == []
    finally:
        remove()


def test_an_operator_wide_revocation_swallows_per_charger_ones() -> None:
    merged = merge(
        [
            Revocation("op", frozenset({"a"})),
            Revocation("op", None),
            Revocation("other", frozenset({"c"})),
        ]
    )
    assert merged == [Revocation("op", None), Revocation("other", frozenset({"c"}))]
