"""`livecore node --metrics-port` as a real process (embedded backends): its own
``/metrics`` carries the process collectors and the node's families, and a busy
port is refused with one line before anything starts."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from tests.servers import wait_until

from livecore.node.telemetry import EVENT_AGE, NODE_METRICS, TICK_TO_ORDER
from livecore.testing.processes import livecore_argv, spawn
from livecore.testing.scrape import Scrape, scrape
from livecore.testing.servers import free_port

STARTUP_S = 120.0  # the CLI alone has taken a minute to start on a loaded machine


def node_argv(tmp_path: Path, port: int) -> list[str]:
    backends = ["--bus", "memory://m", "--coord", "memory://m", "--db", f"sqlite:///{tmp_path / 'n.db'}"]
    command = ["node", "--id", "n1", "--status-every", "0", "--metrics-port", str(port)]
    return livecore_argv([*backends, "--secret", "metrics-secret"], command)


def test_node_process_serves_its_own_metrics(tmp_path: Path) -> None:
    port = free_port()
    proc = spawn("node", node_argv(tmp_path, port), tmp_path)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        seen: list[Scrape] = []

        def node_registered() -> bool:
            # the endpoint answers before the node is built (a busy port fails first):
            # wait for the node's own families, not only for an answer
            seen.append(scrape(url, timeout=2))
            return seen[-1].value("livecore_node_hosted_portfolios", node="n1") is not None

        wait_until(node_registered, STARTUP_S, "metrics of the node process", interval=0.2)
        s = seen[-1]
        assert (s.value("process_cpu_seconds_total") or 0) > 0
        assert (s.value("process_resident_memory_bytes") or 0) > 10_000_000
        assert (s.value("process_open_fds") or 0) > 0
        assert s.value("livecore_node_hosted_portfolios", node="n1") == 0
        assert s.value(f"{TICK_TO_ORDER}_count", node="n1") == 0
        assert s.types[EVENT_AGE] == "histogram"
        for metric in NODE_METRICS.metrics:
            family = metric.name.removesuffix("_total")
            assert family in s.types, metric.name
        assert proc.stop(signal.SIGTERM, timeout=60) == 0, proc.tail()
    finally:
        proc.kill()


def test_a_busy_metrics_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = spawn("node", node_argv(tmp_path, port), tmp_path)
        try:
            assert proc.process.wait(STARTUP_S) == 2
        finally:
            proc.kill()
    assert f"livecore: error: cannot serve metrics on 127.0.0.1:{port}" in proc.text()
