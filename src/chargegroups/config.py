"""One Settings object, read from CHARGEGROUPS_* environment variables (and an optional .env)."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chargegroups.kit.logs import LogFormat
from chargegroups.models.node import NODE_ID_MAX

DEFAULT_SQLITE_PATH = Path("var") / "chargegroups.sqlite3"


class Settings(BaseSettings):
    """Every setting the service reads; documented in README.md (a test keeps them in step)."""

    model_config = SettingsConfigDict(env_prefix="CHARGEGROUPS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL; sqlite+aiosqlite (default) or postgresql+psycopg.",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        description="PostgreSQL connections kept open per process; size it to the requests "
        "served at once (a connection beyond it is opened and closed per use).",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        description="Extra PostgreSQL connections allowed above database_pool_size at a peak.",
    )
    caller_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a process reuses a bearer token's holder and grants without "
        "reading them again (0: never). Changes made through the same process apply at once; "
        "on PostgreSQL, changes made by another process as soon as its news arrives (N1).",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("dev-only-change-me"),
        description="Signs console session cookies and CSRF tokens. Set it in production.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:port for real email; unset: emails stay in the outbox.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL used in links sent by email.",
    )
    auth_cache_ttl_seconds: int = Field(
        default=900,
        ge=0,
        description="Default OCPP authorization-cache lifetime for new operators (D8).",
    )
    access_token_ttl_seconds: int = Field(
        default=3600,
        ge=60,
        description="Lifetime of bearer tokens issued by POST /api/v1/auth/token.",
    )
    email_from: str = Field(
        default="chargegroups <noreply@chargegroups.invalid>",
        description="Sender (From:) of every email.",
    )
    public_rate_limit: int = Field(
        default=20,
        ge=1,
        description="Requests per client IP and window allowed on the public sign-up endpoints.",
    )
    log_format: LogFormat = Field(
        default="text",
        description="How `serve` writes its log lines on stderr: text, or json (one object a "
        "line); each names its request id or OCPP charge point id.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="The least severe log lines `serve` writes.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="If set, GET /metrics answers only requests bearing this token "
        "(Authorization: Bearer ...); unset: anyone who reaches the port reads the metrics.",
    )
    public_rate_window_seconds: int = Field(
        default=60,
        ge=1,
        description="Length of the sliding window of public_rate_limit.",
    )
    node_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        min_length=1,
        max_length=NODE_ID_MAX - 8,  # room for serve --workers' "/w{index}"
        description="This process's name among the nodes on one database (N1): which node "
        "holds a charger's connection. Default: host name and process id.",
    )
    drain_seconds: float = Field(
        default=20.0,
        gt=0,
        description="On SIGTERM, how long serve waits for chargers' last messages and "
        "in-flight requests before it exits.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
