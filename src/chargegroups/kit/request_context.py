"""The current request id and charger, set by each edge, read by the audit writer and the logs."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The charge point id of the OCPP connection whose message is being handled.
charge_point_id_var: ContextVar[str | None] = ContextVar("charge_point_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
