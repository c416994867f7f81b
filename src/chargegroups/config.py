"""One Settings object, read from CHARGEGROUPS_* environment variables (and an optional .env)."""

from __future__ import annotations

import logging
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
#: Anyone can read it here, so anyone could sign console cookies with it.
DEVELOPMENT_SECRET_KEY = "dev-only-change-me"  # noqa: S105
log = logging.getLogger("chargegroups")


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
        default=SecretStr(DEVELOPMENT_SECRET_KEY),
        description="Signs console session cookies and CSRF tokens. Set it to a long random "
        "value: with the development default the service refuses to start under an https "
        "public_url, and warns otherwise.",
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
        description="Length of the window of public_rate_limit (counted for the whole "
        "deployment, in the database).",
    )
    auth_free_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins per email (and failed charger handshakes per charge point "
        "id) within auth_lockout_seconds before each further one refuses it for twice as long "
        "(1 s, 2 s, 4 s, ... up to auth_lockout_seconds), even with the right password.",
    )
    auth_free_failures_per_address: int = Field(
        default=50,
        ge=1,
        description="The same as auth_free_failures, per client address (many users may share "
        "one).",
    )
    auth_lockout_seconds: int = Field(
        default=900,
        ge=1,
        description="The longest refusal after failed logins or handshakes, and how long "
        "failures are remembered.",
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


class UnsafeSettings(ValueError):
    """Settings the service refuses to start with."""


def check_secret_key(settings: Settings) -> None:
    """Refuse the development secret key under an https public URL (a real deployment); warn
    about it otherwise (a developer's machine)."""
    if settings.secret_key.get_secret_value() != DEVELOPMENT_SECRET_KEY:
        return
    if settings.public_url.startswith("https://"):
        raise UnsafeSettings(
            "CHARGEGROUPS_SECRET_KEY is the development default, which anyone can read, while "
            f"CHARGEGROUPS_PUBLIC_URL ({settings.public_url}) is https: set "
            "CHARGEGROUPS_SECRET_KEY to a long random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')."
        )
    log.warning(
        "CHARGEGROUPS_SECRET_KEY is the development default: anyone can sign console "
        "cookies with it. Set it to a long random value before serving anyone but yourself."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
