"""Pure rules of groups and chargers, as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chargegroups.auth.subject import AuthSubject
from chargegroups.charger.rules import revokes_access
from chargegroups.group.endpoints import etag, parse_if_match
from chargegroups.group.service import is_read_only, normalize_name
from chargegroups.models import UserGroup

names = st.text(min_size=1, max_size=40)
modes = st.sampled_from(["public", "private", "closed"])
account_ids = st.sampled_from(["a", "b", "c"])


@given(names)
def test_names_compare_alike_whatever_their_case_and_spacing(name: str) -> None:
    assert normalize_name(name) == normalize_name(f"  {name.upper()} ")
    assert normalize_name(normalize_name(name)) == normalize_name(name)


@given(st.integers(min_value=1, max_value=10**12))
def test_an_etag_names_the_version_it_was_made_from(version: int) -> None:
    assert parse_if_match(etag(version)) == version
    assert parse_if_match("W/" + etag(version)) == version


@given(modes, modes)
def test_only_a_change_to_private_or_closed_revokes_access(old: str, new: str) -> None:
    assert revokes_access(old, new) == (old != new and new != "public")


@given(
    st.booleans(),
    st.frozensets(account_ids),
    st.one_of(st.none(), account_ids),
)
def test_a_group_is_writable_only_for_operator_admins_and_its_own_accounts_admins(
    operator_admin: bool, admin_of: frozenset[str], group_account: str | None
) -> None:
    subject = AuthSubject(
        user_id="u",
        operator_id="o",
        account_id="a",
        is_operator_admin=operator_admin,
        admin_account_ids=admin_of,
    )
    group = UserGroup(operator_id="o", account_id=group_account)
    writable = operator_admin or (group_account is not None and group_account in admin_of)
    assert is_read_only(subject, group) is not writable
