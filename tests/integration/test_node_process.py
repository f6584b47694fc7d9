"""`livecore node` as a real process on Tansu + redis-server + SQLite/PostgreSQL:
the heartbeat lives with the process and expires within the TTL after SIGKILL;
SIGTERM stops it gracefully; a second process with a live id is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.servers import wait_until

from livecore.adapters.factory import open_coordination
from livecore.wire import names

REPO = Path(__file__).resolve().parents[2]
LIVECORE = [str(Path(sys.executable).parent / "livecore")]


def node_argv(kafka: str, redis: str, db: str, node_id: str, prefix: str) -> list[str]:
    return [
        *LIVECORE,
        "--bus",
        kafka,
        "--coord",
        redis,
        "--db",
        db,
        "--secret",
        "process-secret",
        "--topic-prefix",
        prefix,
        "node",
        "--id",
        node_id,
        "--heartbeat-interval",
        "0.5",
        "--heartbeat-ttl",
        "1.5",
        "--status-every",
        "0",
    ]


def spawn(argv: list[str], log: Path, pythonpath: str | None = None) -> subprocess.Popen[bytes]:
    """``pythonpath``: more module directories (the node's host's installed code)."""
    path = str(REPO) if pythonpath is None else os.pathsep.join([str(REPO), pythonpath])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO, env=env)


@pytest.mark.e2e
def test_heartbeat_follows_the_process(kafka_url: str, redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    db = postgres_url
    kafka = f"{kafka_url}?session_timeout_ms=3000&heartbeat_interval_ms=750"  # Tansu's timings ride on the URL
    coord = open_coordination(redis_url)
    node_id = f"proc-{uuid.uuid4().hex[:6]}"
    prefix = f"t{uuid.uuid4().hex[:8]}."
    argv = node_argv(kafka, redis_url, db, node_id, prefix)
    first = spawn(argv, tmp_path / "first.log")
    twin: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: coord.get(names.heartbeat_key(node_id)) is not None, 60, "heartbeat of the process")
        beat = coord.get_with_ttl(names.heartbeat_key(node_id))
        assert beat is not None and beat[1] is not None and 0 < beat[1] <= 1.5
        metrics = coord.hgetall(names.metrics_key(node_id))
        assert int(metrics["memory_usage"]) > 10_000_000 and float(metrics["cpu_usage"]) >= 0

        twin = spawn(argv, tmp_path / "twin.log")
        assert twin.wait(60) == 2
        assert f"node {node_id} is already running" in (tmp_path / "twin.log").read_text()
        assert first.poll() is None

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_until(lambda: coord.get(names.heartbeat_key(node_id)) is None, 10.0, "heartbeat expired")
        wait_until(lambda: coord.hgetall(names.metrics_key(node_id)) == {}, 10.0, "metrics expired")
        wait_until(lambda: coord.get(names.node_claim_key(node_id)) is None, 10.0, "claim expired")

        second = spawn(argv, tmp_path / "second.log")  # the id is free again
        try:
            wait_until(lambda: coord.get(names.heartbeat_key(node_id)) is not None, 60, "heartbeat again")
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
            assert coord.get(names.heartbeat_key(node_id)) is None  # removed at once, not expired
            assert "stopped" in (tmp_path / "second.log").read_text()
        finally:
            if second.poll() is None:
                second.kill()
    finally:
        for process in (first, twin):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        coord.close()
