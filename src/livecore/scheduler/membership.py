"""Which nodes the leader sees come and go, audited (``node_joined``,
``node_lost``), so that a node killed outright is still on record after its
heartbeat and metrics have expired from the coordination store.

The leader compares each tick's alive set with the previous one. Its first
tick in office only takes the set as it finds it: a change that happened
while no scheduler led is not reported (nor is every node "joined" at each
election).
"""

from __future__ import annotations

from collections.abc import Callable

from livecore.control.cluster import Cluster
from livecore.control.events import AuditEvent

Audit = Callable[[AuditEvent, dict[str, object]], None]


class Membership:
    def __init__(self, *, audit: Audit) -> None:
        self._audit = audit
        self._alive: dict[str, list[str]] | None = None  # live node -> what it hosted

    def reset(self) -> None:
        """Out of office: the next observation is a new baseline."""
        self._alive = None

    def observe(self, cluster: Cluster) -> list[str]:
        """Audit each node alive now and not before (joined), and alive before and
        not now (lost, with the portfolios it reported when last seen alive); the
        lost ones are returned (for the notices)."""
        alive = {nid: sorted(node.portfolios) for nid, node in cluster.alive.items()}
        before, self._alive = self._alive, alive
        if before is None:
            return []
        for node_id in sorted(alive.keys() - before.keys()):
            self._audit(AuditEvent.NODE_JOINED, {"node_id": node_id})
        lost = sorted(before.keys() - alive.keys())
        for node_id in lost:
            self._audit(AuditEvent.NODE_LOST, {"node_id": node_id, "portfolios": before[node_id]})
        return lost
