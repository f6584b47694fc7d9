"""The node's coordination session: how the scheduler learns at once that this
process is gone.

Opened at start (before the first heartbeat, so that a node seen alive has a
session to watch) and closed at stop, after the heartbeat key is gone. Every
heartbeat keeps it (``Session.keep``: re-opened if the coordination server
restarted) and writes its token into the metrics hash (``NodeMetrics.session``).
A ``kill -9`` closes the session's socket with the process, so the scheduler
reads the token as CLOSED within its next session check instead of waiting for
the heartbeat TTL; a stalled process keeps its socket, and its heartbeat TTL
stays the rule.

Never fatal: a session that cannot be opened or kept only means no token in the
report, and the node is judged by its heartbeat TTL alone.
"""

from __future__ import annotations

import logging
import threading

from livecore.ports.coordination import Coordination, Session
from livecore.wire import names

log = logging.getLogger(__name__)


class NodeSession:
    """Thread-safe; the heartbeat thread keeps it, start and stop open and close it."""

    def __init__(self, *, node_id: str, coord: Coordination) -> None:
        self._node_id = node_id
        self._coord = coord
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._failing = False

    def open(self) -> None:
        with self._lock:
            self._session = self._open()

    def token(self) -> str | None:
        """The token to report this beat (the session re-opened if it had dropped);
        None while no session can be had."""
        with self._lock:
            try:
                if self._session is None:
                    self._session = self._open()
                    return None if self._session is None else self._session.token
                token = self._session.keep()
            except Exception as exc:
                self._failed(exc)
                return None
            self._failing = False
            return token

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:
                log.exception("node %s: closing its coordination session failed", self._node_id)

    def _open(self) -> Session | None:
        try:
            session = self._coord.open_session(names.node_session_name(self._node_id))
        except Exception as exc:
            self._failed(exc)
            return None
        self._failing = False
        return session

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            log.warning(
                "node %s: no coordination session (%s): judged by its heartbeat TTL alone until it has one",
                self._node_id,
                exc,
            )
        self._failing = True
