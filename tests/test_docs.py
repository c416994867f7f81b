"""Documentation cannot fall behind: every setting and CLI command appears in the README."""

from __future__ import annotations

import re
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


RULES = (Path(__file__).parents[1] / "docs" / "rules.md").read_text()
# A rule id as the code cites it: "D8", "G12", "N1" ("C0 controls" of Unicode is no rule).
_RULE_ID = re.compile(r"(?<![A-Za-z0-9_])([RGACDBUNW][1-9][0-9]?)(?![A-Za-z0-9_])")


def test_every_rule_id_the_code_cites_is_defined_in_the_docs() -> None:
    source = Path(__file__).parents[1] / "src" / "chargegroups"
    cited = {
        match
        for path in source.rglob("*.py")
        if "migrations" not in path.parts
        for match in _RULE_ID.findall(path.read_text())
    }
    defined = set(re.findall(r"^- \*\*([A-Z][0-9]+)\*\*", RULES, flags=re.MULTILINE))
    assert sorted(cited - defined) == []
