"""The web console: server-rendered pages over the same services as the API."""

from __future__ import annotations

from fastapi import FastAPI

from chargegroups.config import Settings


def mount(app: FastAPI, settings: Settings) -> None:
    from chargegroups.console.app import create_console

    app.mount("/console", create_console(settings, app.state.sessionmaker), name="console")
