"""The container's files, checked without Docker: the compose file's structure, the image's
entrypoint run as the container runs it against a fresh database, and backups on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from chargegroups.config import Settings
from tests.fixtures.databases import create_database, empty_database, postgres_database_named
from tests.fixtures.factories import PASSWORD, make_operator
from tests.fixtures.served import free_port, serving

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
NODES = ("app1", "app2")
# The virtual environment's commands first, as the image's pip install puts them on PATH.
PATH_WITH_VENV = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own scripts
        argv,
        env={**os.environ, "PATH": PATH_WITH_VENV, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_compose_has_postgres_a_one_shot_migration_two_nodes_and_a_tls_proxy() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "migrate", *NODES, "caddy"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in NODES:
        node = services[name]
        assert node["build"] == "." and node["command"] == ["serve"]
        assert node["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert "ports" not in node, "only the proxy is reachable from outside"
        assert "/readyz" in " ".join(node["healthcheck"]["test"])
        url = make_url(
            node["environment"]["CHARGEGROUPS_DATABASE_URL"]
            .replace("${", "")
            .replace(":?set POSTGRES_PASSWORD in .env}", "")
        )
        assert url.drivername == "postgresql+psycopg" and url.host == "postgres"
        assert node["environment"]["CHARGEGROUPS_PUBLIC_URL"].startswith("https://")
        assert "CHARGEGROUPS_SECRET_KEY" in node["environment"]
    caddy = services["caddy"]
    assert caddy["image"].startswith("caddy:")
    assert "443:443" in caddy["ports"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert set(caddy["depends_on"]) == set(NODES)
    for volume in ("postgres-data", "caddy-data"):
        assert volume in COMPOSE["volumes"]


def test_every_service_refers_to_services_and_volumes_that_exist() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert set(service.get("depends_on", ())) <= set(services), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                assert source in COMPOSE["volumes"], f"{name}: {volume}"
            else:
                assert (ROOT / source).exists(), f"{name}: {volume}"


def test_the_proxy_sends_https_and_wss_to_both_nodes() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy app1:8000 app2:8000", caddyfile)
    assert "{$CHARGEGROUPS_DOMAIN}" in caddyfile  # a site address: automatic HTTPS
    assert "health_uri /readyz" in caddyfile


def test_every_variable_the_compose_file_needs_is_documented() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    guide = (ROOT / "docs" / "deploy.md").read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+)", compose))
    assert needed and {name for name in needed if name not in guide} == set()


def test_the_image_runs_the_entrypoint_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user and user[-1] not in ("root", "0")
    assert "COPY deploy/entrypoint.sh /usr/local/bin/chargegroups-entrypoint" in dockerfile
    assert 'ENTRYPOINT ["chargegroups-entrypoint"]' in dockerfile
    assert 'CMD ["serve"]' in dockerfile


def test_the_entrypoint_migrates_a_fresh_database_then_serves_it_ready(
    settings: Settings, tmp_path: Path
) -> None:
    with empty_database(settings, tmp_path) as url:
        env = {"CHARGEGROUPS_DATABASE_URL": url}
        migrated = _run(["sh", str(DEPLOY / "entrypoint.sh"), "migrate"], env)
        assert migrated.returncode == 0, migrated.stderr
        assert "database is up to date" in migrated.stdout

        port = free_port()
        node = {
            **env,
            "PATH": PATH_WITH_VENV,
            "CHARGEGROUPS_HOST": "127.0.0.1",
            "CHARGEGROUPS_PORT": str(port),
        }
        with serving(node, ["sh", str(DEPLOY / "entrypoint.sh"), "serve"], port=port) as served:
            ready = httpx.get(f"{served.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text


@pytest.mark.postgres_only
async def test_a_backup_restores_into_a_fresh_database_that_serves(
    settings: Settings, uow, tmp_path: Path
) -> None:
    async with uow() as s:
        world = await make_operator(s)
    dump = tmp_path / "chargegroups.dump"
    env = {"CHARGEGROUPS_DATABASE_URL": settings.database_url}
    backed_up = _run(["sh", str(DEPLOY / "backup.sh"), str(dump)], env)
    assert backed_up.returncode == 0, backed_up.stderr
    assert dump.stat().st_size > 0

    verified = _run(
        ["sh", str(DEPLOY / "verify-backup.sh"), str(dump)],
        {**env, "VERIFY_PORT": str(free_port())},
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip().endswith("ready")

    with postgres_database_named(settings) as (url, admin_dsn, name):
        create_database(admin_dsn, name)
        restored = _run(
            ["sh", str(DEPLOY / "restore.sh"), str(dump)], {"CHARGEGROUPS_DATABASE_URL": url}
        )
        assert restored.returncode == 0, restored.stderr
        with serving({"CHARGEGROUPS_DATABASE_URL": url}) as served:
            async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
                assert (await http.get("/readyz")).status_code == 200
                login = await http.post(
                    "/api/v1/auth/token",
                    data={
                        "username": world.admin.email,
                        "password": PASSWORD,
                        "operator": world.operator.slug,
                    },
                )
        assert login.status_code == 200, login.text  # the backed-up operator signs in
