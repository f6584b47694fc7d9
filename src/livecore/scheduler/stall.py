"""Never fail a node over for the scheduler's own stall.

When the scheduler's process stops running for a while (a GC pause, a loaded
machine, a suspended VM), every heartbeat it reads afterwards may have expired
meanwhile, and in the embedded ``livecore run`` the nodes' heartbeat threads
were stalled by the very same pause: their keys ran out while none of them
could beat. Judging the nodes at that moment would fail over healthy nodes.

So the leader measures, on its monotonic clock, the time between two
observations of the cluster. A gap longer than ``expected + threshold`` means
this process was stalled; for ``grace`` seconds after that, a node that was
alive at the last observation before the stall and is missing now is presumed
alive (as last seen), giving it time to beat again. A node that really died
meanwhile is failed over once the grace has passed: at most ``grace`` late,
and only after a stall of the scheduler itself.
"""

from __future__ import annotations

import logging
import math

from livecore.scheduler.cluster import Cluster

log = logging.getLogger(__name__)


class StallGuard:
    """Driven by the leader's one thread; ``grace`` 0 disables it."""

    def __init__(self, expected_gap: float, threshold: float, grace: float) -> None:
        self._expected = expected_gap
        self._threshold = threshold
        self._grace = grace
        self._last: float | None = None
        self._grace_until = -math.inf
        self._before: Cluster | None = None
        self.stalls = 0

    def reset(self) -> None:
        """Forget the past (a new term as leader: the gap since the last one is no stall)."""
        self._last = None
        self._grace_until = -math.inf
        self._before = None

    def in_grace(self, now: float) -> bool:
        return now < self._grace_until

    def judge(self, cluster: Cluster, now: float) -> Cluster:
        """``cluster`` as observed at ``now``, with nodes presumed alive during a grace."""
        if self._grace > 0 and self._last is not None:
            gap = now - self._last
            if gap > self._expected + self._threshold:
                self.stalls += 1
                self._grace_until = now + self._grace
                log.warning(
                    "scheduler stalled for %.1fs (expected a pass every %.1fs): no node is judged dead for %.1fs",
                    gap,
                    self._expected,
                    self._grace,
                )
        self._last = now
        if self.in_grace(now) and self._before is not None:
            cluster = presume_alive(cluster, self._before)
        self._before = cluster
        return cluster


def presume_alive(now: Cluster, before: Cluster) -> Cluster:
    """``now`` with every node alive in ``before`` but not in ``now`` as it was in ``before``."""
    nodes = dict(now.nodes)
    for node_id, seen in before.nodes.items():
        current = nodes.get(node_id)
        if seen.alive and (current is None or not current.alive):
            nodes[node_id] = seen
    return Cluster(nodes)
