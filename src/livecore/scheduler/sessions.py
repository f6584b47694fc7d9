"""The leader's fast path to a node whose process is gone.

A node's heartbeat key outlives its process by up to its TTL, but its
coordination session ends with the process (``node/session.py``). Between
passes, every ``session_poll`` seconds, the leader reads the sessions of the
nodes alive at its last pass in one round trip (``Coordination.session_states``).
When one reads CLOSED the loop starts a pass at once; that pass judges the node
dead (``control.cluster``: ``session_closed``) and fails its portfolios over.

Only CLOSED counts. UNKNOWN (the coordination server restarted: every session
dropped at once, and each node's next heartbeat reports a new token) and a
check that fails change nothing: the heartbeat TTL stays the rule then, as it
is for a node whose machine or network vanished without closing anything.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from livecore.control.cluster import Cluster, session_states
from livecore.ports.coordination import Coordination, SessionState

log = logging.getLogger(__name__)


class SessionWatch:
    """Driven by the scheduler loop's one thread; ``poll`` None disables it."""

    def __init__(self, coord: Coordination, poll: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._coord = coord
        self._poll = poll
        self._clock = clock
        self._tokens: dict[str, str] = {}
        self._next = -math.inf
        self.closed_seen = 0  # node sessions seen closed between passes

    def watch(self, cluster: Cluster) -> None:
        """Watch the sessions of the nodes alive in ``cluster`` (the last pass's view)."""
        self._tokens = cluster.sessions()

    def wait_hint(self, now: float) -> float:
        """Seconds until the next check is due (inf when nothing is watched)."""
        if self._poll is None or not self._tokens:
            return math.inf
        return max(0.0, self._next - now)

    def closed(self) -> list[str]:
        """If a check is due: the watched nodes whose session reads CLOSED (each
        triggers a pass); else, and when nothing is watched, none."""
        now = self._clock()
        if self._poll is None or not self._tokens or now < self._next:
            return []
        self._next = now + self._poll
        states = session_states(self._coord, self._tokens.values())
        gone = sorted(nid for nid, token in self._tokens.items() if states.get(token) is SessionState.CLOSED)
        if gone:
            self.closed_seen += len(gone)
            log.warning("session of node(s) %s closed: their process is gone; a pass starts now", ", ".join(gone))
            for node_id in gone:
                del self._tokens[node_id]  # told once; the pass decides
        return gone
