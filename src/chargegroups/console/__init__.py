"""The web console: server-rendered pages over the same services as the API."""

from __future__ import annotations

from fastapi import FastAPI

from chargegroups.config import Settings


def mount(app: FastAPI, settings: Settings) -> None:
    from chargegroups.console.app import create_console

    console = create_console(settings, app.state.sessionmaker)
    # Shared with the API: the read pool and the deployment's limits.
    for shared in ("read_pool", "limits", "failure_limits"):
        setattr(console.state, shared, getattr(app.state, shared))
    app.mount("/console", console, name="console")
