"""Serving the app with uvicorn: in the foreground (``livecore api``) or on a
background thread (``ApiServer.start``/``stop``, for ``livecore run`` and tests).

The listening socket is bound here, before uvicorn starts, so that a port in
use is one clear ``ConfigError`` at once (not a log line from a dying thread),
and port 0 gives a free port readable from ``ApiServer.port``.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from livecore.errors import ConfigError

DEFAULT_START_TIMEOUT = 10.0
DEFAULT_STOP_TIMEOUT = 10.0
GRACEFUL_SHUTDOWN_S = 5  # in-flight requests (a migration may wait a minute) get this long


def bind(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket; ``ConfigError`` naming the address if refused."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, except that after a graceful stop on SIGINT/SIGTERM it
    returns instead of re-raising the signal: ``livecore api`` exits 0 like the
    other long-running commands, without a KeyboardInterrupt traceback."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # signals only reach the main thread
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class ApiServer:
    """One uvicorn server for ``app`` on ``host:port`` (0 = a free port)."""

    def __init__(self, app: FastAPI, host: str, port: int, log_level: str = "warning") -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._port = port

    @property
    def port(self) -> int:
        """The port actually listened on (known once started)."""
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def listen(self) -> str:
        """Bind the socket now (idempotent); returns the URL. ``ConfigError`` if the
        address is refused (in use, bad host)."""
        if self._sock is None:
            self._sock = bind(self._host, self._requested_port)
            self._port = int(self._sock.getsockname()[1])
        return self.url

    def _prepare(self) -> tuple[_Server, socket.socket]:
        if self._server is not None:
            raise RuntimeError("this ApiServer was already started")
        self.listen()
        assert self._sock is not None
        config = uvicorn.Config(
            self._app,
            log_level=self._log_level,
            access_log=False,
            lifespan="on",  # the app's own threads start and stop with the server
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = _Server(config)
        return self._server, self._sock

    def serve_forever(self) -> None:
        """Serve in the calling thread until SIGINT/SIGTERM (uvicorn handles them)."""
        server, sock = self._prepare()
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Serve on a daemon thread; return once it accepts connections."""
        server, sock = self._prepare()
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="livecore-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise ConfigError(f"the API server on {self._host}:{self.port} stopped while starting (see the log)")
            if time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the API server on {self._host}:{self.port} did not start within {timeout:g}s")
            time.sleep(0.01)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Stop accepting, finish in-flight requests (up to ``timeout``), join the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
