from __future__ import annotations

import pytest

from chargegroups.account.rules import normalize_domain
from chargegroups.errors import InvalidInput


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Acme.COM", "acme.com"),
        ("@acme.com", "acme.com"),
        ("acme.com.", "acme.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("fleet.acme.com", "fleet.acme.com"),
    ],
)
def test_domains_compare_case_insensitively_after_idna(given: str, expected: str) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize("bad", ["", "localhost", "a..b", "exa mple.com", "-bad-.com"])
def test_invalid_domains_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_domain(bad)
