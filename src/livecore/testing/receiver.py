"""A local HTTP receiver for notifications: what apprise's ``json://`` posts lands
here; and ``RecordingSink``, a notice sink that keeps what a service's hooks emit.

``NotificationReceiver`` serves on a free port of 127.0.0.1 in a thread and
keeps every JSON body it is sent (apprise's ``title``, ``message``, ``type``).
It can be told to answer 500, or to hang: a request then waits on ``release``
before it is answered (its body is recorded first, so a test sees it arrived).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from livecore.notify import DEFAULT_KINDS, Notice, NoticeKind
from livecore.testing.servers import wait_until

# how long a hung request waits for ``release`` at most, so a forgotten one still ends
_HANG_LIMIT_S = 60.0


class NotificationReceiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.hang = False
        self.release = threading.Event()
        self.hanging = threading.Event()  # set once a request is held by ``hang``
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="notification-receiver", daemon=True)

    @property
    def url(self) -> str:
        """The apprise URL that posts JSON here."""
        return f"json://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> NotificationReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.bodies)

    def titles(self) -> list[str]:
        return [str(body.get("title", "")) for body in self.received()]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The bodies once at least ``count`` arrived."""
        wait_until(lambda: len(self.received()) >= count, timeout, f"{count} notification(s)")
        return self.received()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    receiver.bodies.append(body)
                if receiver.hang:
                    receiver.hanging.set()
                    receiver.release.wait(_HANG_LIMIT_S)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


class RecordingSink:
    """Keeps every notice of the kinds it wants (the default kinds: fills off)."""

    def __init__(self, kinds: frozenset[NoticeKind] = DEFAULT_KINDS) -> None:
        self.kinds = kinds
        self.notices: list[Notice] = []

    def wants(self, kind: NoticeKind) -> bool:
        return kind in self.kinds

    def notify(self, notice: Notice) -> None:
        if notice.kind in self.kinds:
            self.notices.append(notice)

    def of(self, kind: NoticeKind) -> list[str]:
        return [notice.text for notice in self.notices if notice.kind is kind]
