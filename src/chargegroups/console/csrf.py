"""CSRF protection for console forms: a per-session secret echoed in every form."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from chargegroups.errors import NotPermitted

SESSION_KEY = "csrf"
FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get(SESSION_KEY)
    if (
        not isinstance(expected, str)
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected, submitted)
    ):
        raise NotPermitted(
            "The form expired or did not come from this site; reload and retry.", code="csrf_failed"
        )
