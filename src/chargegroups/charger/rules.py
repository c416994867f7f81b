"""Pure rules about chargers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Modes that take access away from drivers who had it (C2, D8).
RESTRICTIVE_MODES = ("private", "closed")


def revokes_access(old_mode: str, new_mode: str) -> bool:
    """Going private or closed may end access that chargers hold in their caches."""
    return new_mode != old_mode and new_mode in RESTRICTIVE_MODES


# What a charger reports over OCPP, kept on its row as JSON (Charger.station_status,
# operations_status, device_model). Each function takes the stored value and returns the new one
# (a new object: the ORM sees an assignment) and what changed that the audit log must show.

# 1.6 StatusNotification's errorCode when there is none.
NO_ERROR = "NoError"
# 2.0.1 connector status that is a fault in itself.
FAULTED = "Faulted"
# The operations whose progress a charger reports (1.6 and 2.0.1 *StatusNotification).
OPERATIONS = ("firmware", "diagnostics", "log", "publish_firmware")
# LocalAuthListCtrlr variables kept from a 2.0.1 device model (name -> key).
LOCAL_AUTH_LIST_VARIABLES = {
    "Enabled": "enabled",
    "Available": "available",
    "Entries": "entries",
    "ItemsPerMessage": "items_per_message",
    "BytesPerMessage": "bytes_per_message",
}


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """A connector's reported status; 1.6 connector 0 (the whole charger) is EVSE 0."""

    evse_id: int
    connector_id: int
    status: str
    at: datetime
    error_code: str | None = None
    info: str | None = None

    @property
    def source(self) -> str:
        if self.evse_id == 0:
            return "station"
        return f"evse {self.evse_id} connector {self.connector_id}"

    @property
    def fault(self) -> Fault:
        """The fault this status reports (``cleared`` when it reports none)."""
        code = self.error_code if self.error_code not in (None, NO_ERROR) else None
        if code is None and self.status == FAULTED:
            code = FAULTED
        return Fault(source=self.source, code=code, info=self.info, at=self.at, cleared=not code)


@dataclass(frozen=True, slots=True)
class Fault:
    """An open problem on a charger, by where it is (``source``); ``cleared`` ends it."""

    source: str
    code: str | None
    info: str | None
    at: datetime
    cleared: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "code": self.code, "info": self.info, "at": _iso(self.at)}


@dataclass(frozen=True, slots=True)
class DeviceModelPart:
    """One NotifyReport message's worth of the device model we keep."""

    evses: dict[int, frozenset[int]]
    local_auth_list: dict[str, int | bool]


def _iso(at: datetime) -> str:
    return at.isoformat()


def with_connector_status(
    stored: dict[str, Any] | None, status: ConnectorStatus
) -> tuple[dict[str, Any], list[Fault]]:
    """The station status with ``status`` in its connector's place, and the fault it raised
    or cleared (if it changed anything)."""
    current = dict(stored or {})
    connectors = [
        c
        for c in current.get("connectors", [])
        if (c["evse_id"], c["connector_id"]) != (status.evse_id, status.connector_id)
    ]
    connectors.append(
        {
            "evse_id": status.evse_id,
            "connector_id": status.connector_id,
            "status": status.status,
            "error_code": status.error_code,
            "info": status.info,
            "at": _iso(status.at),
        }
    )
    current["connectors"] = sorted(connectors, key=lambda c: (c["evse_id"], c["connector_id"]))
    return with_faults(current, [status.fault])


def with_faults(
    stored: dict[str, Any] | None, faults: list[Fault]
) -> tuple[dict[str, Any], list[Fault]]:
    """Open faults are raised or replaced by source and removed when cleared; the changes are
    the faults that were new, changed or cleared (a repeat of an open fault is none)."""
    current = dict(stored or {})
    open_faults = {f["source"]: f for f in current.get("faults", [])}
    changes: list[Fault] = []
    for fault in faults:
        known = open_faults.get(fault.source)
        if fault.cleared:
            if known is not None:
                del open_faults[fault.source]
                changes.append(fault)
        elif known is None or (known["code"], known["info"]) != (fault.code, fault.info):
            open_faults[fault.source] = fault.as_dict()
            changes.append(fault)
    current["faults"] = sorted(open_faults.values(), key=lambda f: str(f["source"]))
    current.setdefault("connectors", [])
    return current, changes


def with_operation_status(
    stored: dict[str, Any] | None, operation: str, status: str, request_id: int | None, at: datetime
) -> dict[str, Any]:
    current = dict(stored or {})
    current[operation] = {"status": status, "request_id": request_id, "at": _iso(at)}
    return current


def with_device_model(
    stored: dict[str, Any] | None, part: DeviceModelPart, *, fresh: bool, at: datetime
) -> dict[str, Any]:
    """A report's first part (``fresh``) starts the model anew; later parts add to it."""
    current = {} if fresh or stored is None else dict(stored)
    evses = {int(e["id"]): set(e["connectors"]) for e in current.get("evses", [])}
    for evse_id, connectors in part.evses.items():
        evses.setdefault(evse_id, set()).update(connectors)
    current["evses"] = [
        {"id": evse_id, "connectors": sorted(connectors)}
        for evse_id, connectors in sorted(evses.items())
    ]
    current["local_auth_list"] = {**current.get("local_auth_list", {}), **part.local_auth_list}
    current["reported_at"] = _iso(at)
    return current


def has_place(
    connectors: int, device_model: dict[str, Any] | None, evse_id: int, connector_id: int
) -> bool:
    """Whether the charger has this EVSE and connector: as its reported device model lists them,
    else as many EVSEs as its configured connector count (one connector each in 1.6, any
    connector number in 2.0.1, whose connectors we do not know then)."""
    if evse_id < 1 or connector_id < 1:
        return False
    evses = {int(e["id"]): e["connectors"] for e in (device_model or {}).get("evses", [])}
    if not evses:
        return evse_id <= connectors
    if evse_id not in evses:
        return False
    return not evses[evse_id] or connector_id in evses[evse_id]
