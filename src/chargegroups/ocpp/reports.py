"""OCPP 2.0.1 device-model messages (NotifyEvent, NotifyReport) read into what we keep.

The payloads arrive validated and with snake_case keys (the ``ocpp`` library's conversion). Only
what the charger's page and our checks need is taken: connector availability, faults, the EVSEs
and connectors the station has, and its local authorization list limits.
"""

from __future__ import annotations

from typing import Any

from chargegroups.charger.rules import (
    LOCAL_AUTH_LIST_VARIABLES,
    ConnectorStatus,
    DeviceModelPart,
    Fault,
)
from chargegroups.ocpp.protocol import parse_time

AVAILABILITY = "AvailabilityState"
PROBLEM = "Problem"  # a component's own fault flag (OCPP 2.0.1 Part 2, appendix 3)
ALERTING = "Alerting"  # a monitor's threshold was crossed
LOCAL_AUTH_LIST_CONTROLLER = "LocalAuthListCtrlr"
INFO_LENGTH = 255


def _where(component: dict[str, Any], variable: dict[str, Any]) -> str:
    name = component["name"]
    if component.get("instance"):
        name += f"[{component['instance']}]"
    evse = component.get("evse")
    if evse:
        name += f" evse {evse['id']}"
        if evse.get("connector_id") is not None:
            name += f" connector {evse['connector_id']}"
    variable_name = variable["name"]
    if variable.get("instance"):
        variable_name += f"[{variable['instance']}]"
    return f"{name} / {variable_name}"


def events_read(
    event_data: list[dict[str, Any]],
) -> tuple[list[ConnectorStatus], list[Fault]]:
    """Connector availability and faults (raised or cleared) from NotifyEvent's event data."""
    statuses: list[ConnectorStatus] = []
    faults: list[Fault] = []
    for event in event_data:
        component, variable = event["component"], event["variable"]
        at = parse_time(event["timestamp"])
        value = str(event.get("actual_value", ""))
        evse = component.get("evse") or {}
        info = event.get("tech_info")
        info = None if info is None else str(info)[:INFO_LENGTH]
        if variable["name"] == AVAILABILITY and evse.get("connector_id") is not None:
            statuses.append(
                ConnectorStatus(
                    evse_id=int(evse["id"]),
                    connector_id=int(evse["connector_id"]),
                    status=value,
                    at=at,
                    info=info,
                )
            )
        elif variable["name"] == PROBLEM or event.get("trigger") == ALERTING:
            cleared = bool(event.get("cleared")) or (
                variable["name"] == PROBLEM and value.lower() != "true"
            )
            code = event.get("tech_code") or f"{variable['name']}={value}"
            faults.append(
                Fault(
                    source=_where(component, variable),
                    code=str(code),
                    info=info,
                    at=at,
                    cleared=cleared,
                )
            )
    return statuses, faults


def _actual(attributes: list[dict[str, Any]]) -> str | None:
    for attribute in attributes:
        if attribute.get("type", "Actual") == "Actual":
            value = attribute.get("value")
            return None if value is None else str(value)
    return None


def _number_or_flag(text: str) -> int | bool | None:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(float(text))
    except ValueError:
        return None


def device_model_read(report_data: list[dict[str, Any]]) -> DeviceModelPart:
    """The EVSEs and connectors a NotifyReport part names, and LocalAuthListCtrlr's limits."""
    evses: dict[int, set[int]] = {}
    local_auth_list: dict[str, int | bool] = {}
    for item in report_data:
        component, variable = item["component"], item["variable"]
        evse = component.get("evse")
        if evse:
            connectors = evses.setdefault(int(evse["id"]), set())
            if evse.get("connector_id") is not None:
                connectors.add(int(evse["connector_id"]))
        key = LOCAL_AUTH_LIST_VARIABLES.get(variable["name"])
        if component["name"] != LOCAL_AUTH_LIST_CONTROLLER or key is None:
            continue
        actual = _actual(item.get("variable_attribute") or [])
        value = None if actual is None else _number_or_flag(actual)
        if value is not None:
            local_auth_list[key] = value
        max_limit = (item.get("variable_characteristics") or {}).get("max_limit")
        if key == "entries" and max_limit is not None:
            local_auth_list["max_entries"] = int(max_limit)
    return DeviceModelPart(
        evses={evse_id: frozenset(c) for evse_id, c in evses.items()},
        local_auth_list=local_auth_list,
    )
