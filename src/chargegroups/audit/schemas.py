from __future__ import annotations

from datetime import datetime
from typing import Any

from chargegroups.rest.schemas import OutModel


class AuditEventOut(OutModel):
    id: str
    operator_id: str
    account_id: str | None
    actor_id: str | None
    actor_kind: str
    actor_name: str | None = None  # "Name <email>" of the acting user; None for the system
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    created_at: datetime
