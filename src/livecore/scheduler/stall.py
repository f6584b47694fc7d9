"""Never fail a node over for the scheduler's own stall, and never for longer.

When the scheduler's process stops running for a while (a GC pause, a loaded
machine, a suspended VM), every heartbeat it reads afterwards may have expired
meanwhile, and in the embedded ``livecore run`` the nodes' heartbeat threads
were stalled by the very same pause: their keys ran out while none of them
could beat. Judging the nodes at that moment would fail over healthy nodes.

So the leader measures, on its monotonic clock, the time between two
observations of the cluster. A gap longer than ``expected + threshold`` means
this process was stalled. The rule, per node:

- a node is *seen* alive when its heartbeat is really there (the observation,
  not a presumption); the guard keeps, per node, when and as what it was last
  seen alive;
- a stall grants a grace only to the nodes seen alive at the last pass before
  it: each is presumed alive (as last seen) until ``grace`` after the pass that
  noticed the stall, while it is missing;
- a presumption never earns another: a node only presumed alive at the last
  pass before a stall gets no new grace from it.

A node that really died is therefore failed over at most ``grace`` plus one
pass later than without the guard, however often the scheduler stalls (on a
loaded machine every pass may be late), because its next stall finds it not
seen at the pass before.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from livecore.control.cluster import Cluster, NodeLoss, NodeState

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0


@dataclass(slots=True)
class Sighting:
    """The last time a node's heartbeat was really there, and the node as it was then."""

    at: float
    state: NodeState


class StallLog:
    """One warning per ``every`` seconds at most: a loaded machine may stall every
    pass, and a line per pass would drown the log. Stalls in between are counted
    and summed up in the next line."""

    def __init__(self, every: float = LOG_EVERY_S) -> None:
        self._every = every
        self._logged_at = -math.inf
        self._unlogged = 0
        self._longest = 0.0

    def stalled(self, gap: float, expected: float, presumed: int, grace: float, now: float) -> None:
        self._unlogged += 1
        self._longest = max(self._longest, gap)
        if now - self._logged_at < self._every:
            return
        log.warning(
            "scheduler stalled for %.1fs (expected a pass every %.1fs; %d stall(s) since the last warning, "
            "the longest %.1fs): %d node(s) seen alive before it presumed alive for %.1fs",
            gap,
            expected,
            self._unlogged,
            self._longest,
            presumed,
            grace,
        )
        self._logged_at = now
        self._unlogged = 0
        self._longest = 0.0


class StallGuard:
    """Driven by the leader's one thread; ``grace`` 0 disables it."""

    def __init__(self, expected_gap: float, threshold: float, grace: float) -> None:
        self._expected = expected_gap
        self._threshold = threshold
        self._grace = grace
        self._log = StallLog()
        self._last: float | None = None
        self._seen: dict[str, Sighting] = {}
        self._presumed_until: dict[str, float] = {}
        self.stalls = 0

    def reset(self) -> None:
        """Forget the past (a new term as leader: the gap since the last one is no stall)."""
        self._last = None
        self._seen.clear()
        self._presumed_until.clear()

    def in_grace(self, now: float) -> bool:
        """Whether some node may still be presumed alive at ``now``."""
        return any(now < until for until in self._presumed_until.values())

    def judge(self, cluster: Cluster, now: float) -> Cluster:
        """``cluster`` as observed at ``now``, with nodes presumed alive during their grace."""
        if self._grace > 0 and self._last is not None and now - self._last > self._expected + self._threshold:
            self._stalled(now - self._last, now)
        self._last = now
        for node_id, state in cluster.alive.items():
            self._seen[node_id] = Sighting(now, state)
        self._presumed_until = {nid: until for nid, until in self._presumed_until.items() if now < until}
        # Only two kinds of sighting matter: this pass's (for a stall next pass) and the presumed nodes'.
        self._seen = {nid: s for nid, s in self._seen.items() if s.at == now or nid in self._presumed_until}
        if not self._presumed_until:
            return cluster
        before = Cluster({nid: self._seen[nid].state for nid in self._presumed_until})
        return presume_alive(cluster, before)

    def _stalled(self, gap: float, now: float) -> None:
        """Grant the grace to the nodes seen alive at the last pass before the stall, only."""
        self.stalls += 1
        fresh = [nid for nid, seen in self._seen.items() if seen.at == self._last]
        for node_id in fresh:
            self._presumed_until[node_id] = now + self._grace
        self._log.stalled(gap, self._expected, len(fresh), self._grace, now)


def presume_alive(now: Cluster, before: Cluster) -> Cluster:
    """``now`` with every node alive in ``before`` but not in ``now`` as it was in ``before``,
    except a node whose session closed: its process is gone, which no stall of ours explains."""
    nodes = dict(now.nodes)
    for node_id, seen in before.nodes.items():
        current = nodes.get(node_id)
        if current is not None and current.lost is NodeLoss.SESSION_CLOSED:
            continue
        if seen.alive and (current is None or not current.alive):
            nodes[node_id] = seen
    return Cluster(nodes)
