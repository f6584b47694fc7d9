"""A process's own ``/metrics``: prometheus_client's HTTP server on a thread.

It serves one registry, by default ``PROCESS_REGISTRY`` (prometheus_client's
default registry, which also carries the client's process, platform and GC
collectors: CPU seconds, resident memory, open file descriptors, ...). Every
path answers the exposition, so ``/metrics`` is the one to scrape.

The address is bound in ``start``, so a port in use is one ``ConfigError`` at
once; port 0 takes a free port, readable from ``port`` (tests).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from livecore.errors import ConfigError

log = logging.getLogger(__name__)

PROCESS_REGISTRY: CollectorRegistry = REGISTRY
_STOP_TIMEOUT_S = 5.0


class MetricsServer:
    """``start`` / ``stop``, or a context manager."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry = PROCESS_REGISTRY) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one asked for until started)."""
        return self._server.server_port if self._server is not None else self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> None:
        if self._server is not None:
            return
        try:
            self._server, self._thread = start_http_server(self._port, self._host, self._registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {self._host}:{self._port}: {exc.strerror or exc}") from None
        self._thread.name = f"metrics-{self.port}"
        log.info("metrics on %s", self.url)

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(_STOP_TIMEOUT_S)

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
