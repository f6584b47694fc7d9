"""``ApiServer`` on a real socket (a background thread), and ``livecore api`` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from livecore.api.app import create_app
from livecore.api.server import ApiServer
from livecore.errors import ConfigError
from tests.servers import free_port, wait_until
from tests.unit.api.helpers import TOKEN
from tests.unit.ops.helpers import World

LIVECORE = [sys.executable, "-c", "from livecore.cli.app import main; main()"]


def test_start_serves_until_stop(system: World) -> None:
    server = ApiServer(create_app(system.ops), "127.0.0.1", 0)
    server.start()
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        health = httpx.get(f"{server.url}/api/health", timeout=5)
        assert health.status_code == 200
        status = httpx.get(f"{server.url}/api/status", timeout=5).json()
        assert {n["node_id"] for n in status["nodes"]} == {"node-a", "node-b", "node-c"}
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/health", timeout=2)


def test_a_port_in_use_is_a_config_error(system: World) -> None:
    first = ApiServer(create_app(system.ops), "127.0.0.1", 0)
    first.start()
    try:
        second = ApiServer(create_app(system.ops), "127.0.0.1", first.port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            second.start()
    finally:
        first.stop()


def test_an_unknown_host_is_a_config_error(system: World) -> None:
    with pytest.raises(ConfigError, match=r"cannot listen on no-such-host\.invalid:0"):
        ApiServer(create_app(system.ops), "no-such-host.invalid", 0).start()


def test_the_cli_serves_in_the_foreground_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'api.db'}"
    env = {**os.environ, "LIVECORE_API_TOKEN": TOKEN}
    argv = [*LIVECORE, "--db", db, "api", "--port", str(port)]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        # a deadline, not a wait: start-up takes 15-20 s when the shared machine is busy
        wait_until(lambda: httpx.get(f"{url}/api/health", timeout=1).status_code == 200, 60, "livecore api")
        assert httpx.get(f"{url}/api/status", timeout=5).json()["nodes"] == []
        anonymous = httpx.post(f"{url}/api/portfolios/x/reload", timeout=5)
        assert anonymous.status_code == 401
        authorized = httpx.post(f"{url}/api/portfolios/x/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert authorized.status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        err = process.stderr.read().decode() if process.stderr else ""
        assert f"livecore API on {url}" in err and "mutating endpoints enabled" in err
        assert "memory:// backends live inside one process" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_the_cli_refuses_a_bad_port(tmp_path: Path) -> None:
    argv = [*LIVECORE, "--db", f"sqlite:///{tmp_path / 'x.db'}", "api", "--port", "70000"]
    result = subprocess.run(argv, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"ApiConfig.port must be in 0..65535, got 70000" in result.stderr
