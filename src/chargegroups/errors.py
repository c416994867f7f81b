"""The error tree every service raises; free of any transport.

Each edge maps a category to its own dialect (REST: problem+json status; OCPP: a status enum;
SCIM: a SCIM Error; CLI: a message and exit code). A feature error subclasses one category and
sets a stable machine ``code`` that clients may rely on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ChargeGroupsError(Exception):
    """Base of every expected error. ``code`` is stable; ``detail`` is for people."""

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.extra = extra


class Unauthenticated(ChargeGroupsError):
    code = "unauthenticated"
    title = "Not authenticated"


class NotFound(ChargeGroupsError):
    """Also what a caller sees for an object outside its reach (R3): nothing leaks."""

    code = "not_found"
    title = "Not found"


class NotPermitted(ChargeGroupsError):
    """The caller can see the object but may not do this to it."""

    code = "not_permitted"
    title = "Not permitted"


class Conflict(ChargeGroupsError):
    """The request is well-formed but clashes with the current state."""

    code = "conflict"
    title = "Conflict"


class StaleVersion(ChargeGroupsError):
    code = "stale_version"
    title = "Stale version"


class InvalidInput(ChargeGroupsError):
    """The payload is well-formed JSON but breaks a rule about its own values."""

    code = "validation_error"
    title = "Invalid input"


class RateLimited(ChargeGroupsError):
    code = "rate_limited"
    title = "Too many requests"


class Unavailable(ChargeGroupsError):
    """The service cannot answer now (its database, its migrations); the client may retry."""

    code = "unavailable"
    title = "Service unavailable"


class UnsupportedMediaType(ChargeGroupsError):
    """The body is sent in a format the operation does not take."""

    code = "unsupported_media_type"
    title = "Unsupported media type"
