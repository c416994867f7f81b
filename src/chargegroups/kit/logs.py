"""How the service logs: one line per event, as text or JSON, each naming its request or charger.

``logging_config`` is the ``logging.config.dictConfig`` that ``serve`` hands to uvicorn: the
application's own loggers (``chargegroups.*``) and uvicorn's share one handler on stderr, whose
filter adds the request id and the charge point id from the context (``kit/request_context``)
and takes single-use tokens out of logged paths.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Literal

from chargegroups.kit.request_context import charge_point_id_var, request_id_var

LogFormat = Literal["json", "text"]

# Links sent by email carry a single-use token in their path (invitations, e-mail checks, join
# links; the console's pages and the short links alike): an access log line must not replay it.
_TOKEN_IN_PATH = re.compile(r"(/(?:invite|verify-email|join)/)[^/?#\s\"]+")
_TOKEN_IN_QUERY = re.compile(r"((?:token|password|secret)=)[^&#\s\"]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1" + REDACTED, _TOKEN_IN_PATH.sub(r"\1" + REDACTED, text))


class ContextFilter(logging.Filter):
    """Names the request and the charger on every record, and redacts tokens in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.charge_point_id = charge_point_id_var.get()
        if record.name.startswith("uvicorn.access") and record.args:
            record.args = tuple(
                redact(arg) if isinstance(arg, str) else arg
                for arg in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.context = "".join(
            f" {name}={value}"
            for name in ("request_id", "charge_point_id")
            if (value := getattr(record, name, None)) is not None
        )
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the context, any exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "charge_point_id"):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def logging_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handled = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"line": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["context"],
            }
        },
        "loggers": {
            "chargegroups": handled,
            # Every OCPP frame, tokens and all (the ``ocpp`` library's own lines): only asked for.
            "chargegroups.ocpp.frames": {"level": "WARNING"},
            "uvicorn": handled,
            "uvicorn.error": {"level": level},
            "uvicorn.access": handled,
        },
    }
