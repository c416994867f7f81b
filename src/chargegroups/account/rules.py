"""Pure rules about accounts' email domains (A1)."""

from __future__ import annotations

import idna

from chargegroups.errors import InvalidInput


def normalize_domain(domain: str) -> str:
    """Lower-case IDNA (punycode) form, so 'Bücher.example' and 'xn--bcher-kva.example' match.

    A subdomain is a different domain: it matches only if it is listed itself.
    """
    cleaned = domain.strip().rstrip(".").lower()
    if cleaned.startswith("@"):
        cleaned = cleaned[1:]
    try:
        ascii_form = idna.encode(cleaned, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise InvalidInput(
            f"{domain!r} is not a valid domain name.", code="invalid_domain"
        ) from None
    if "." not in ascii_form:
        raise InvalidInput(f"{domain!r} is not a valid domain name.", code="invalid_domain")
    return ascii_form
