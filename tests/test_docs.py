"""Documentation cannot fall behind: every setting and CLI command appears in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main

from chargegroups.cli import app
from chargegroups.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"CHARGEGROUPS_{name.upper()}"
        for name in Settings.model_fields
        if f"CHARGEGROUPS_{name.upper()}" not in README
    ]
    assert missing == []


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    click_group = typer.main.get_group(group)
    names: list[str] = []

    def walk(command, path: str) -> None:  # type: ignore[no-untyped-def]
        sub = getattr(command, "commands", None)
        if sub:
            for name, child in sub.items():
                walk(child, f"{path} {name}".strip())
        else:
            names.append(path)

    walk(click_group, prefix)
    return names


def test_every_cli_command_is_documented() -> None:
    commands = _commands(app)
    assert "serve" in commands
    missing = [c for c in commands if f"chargegroups {c}" not in README]
    assert missing == []
