"""Each node's recent health, kept in memory by the API process: the dashboard's
health strips.

The coordination store only says how each node is *now*, and forgets a node
whose heartbeat and metrics have expired. A ``HistorySampler`` thread observes
the cluster every ``ApiConfig.history_interval_s`` (as the scheduler does) and
appends one sample per node to a ring of ``history_samples``. A node that was
seen and is no longer in the store at all is sampled as ``lost``, so a killed
node stays on the page, red, instead of vanishing; it is forgotten once its
whole ring says lost (the audit's ``node_lost`` keeps the record). Memory is
bounded: at most ``max_nodes`` nodes, the longest lost dropped first.

Each API process keeps its own history from its start; nothing is persisted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from livecore.control.cluster import Cluster, observe
from livecore.ports.coordination import Coordination

log = logging.getLogger(__name__)

LOST = "lost"  # seen before, now neither heartbeat nor metrics in the store
DEFAULT_MAX_NODES = 1000


@dataclass(frozen=True, slots=True)
class Sample:
    t: float  # wall clock, seconds since the epoch
    state: str  # running, paused, unknown, dead (heartbeat gone), lost
    heartbeat_age_s: float | None


@dataclass(frozen=True, slots=True)
class NodeTrack:
    node_id: str
    state: str  # the latest sample's
    last_alive: float | None  # when a sample last found it alive (None: never in this history)
    samples: list[Sample]


class NodeHistory:
    """Rings of samples per node. Thread-safe: the sampler writes, requests read."""

    def __init__(self, *, samples: int, max_nodes: int = DEFAULT_MAX_NODES) -> None:
        self._size = samples
        self._max_nodes = max_nodes
        self._rings: dict[str, deque[Sample]] = {}
        self._last_alive: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, cluster: Cluster, now: float) -> None:
        """One sample per node: observed ones as observed, vanished ones as lost."""
        with self._lock:
            for node_id, node in cluster.nodes.items():
                age = None if node.heartbeat_age is None else round(node.heartbeat_age, 3)
                self._append(node_id, Sample(now, node.state, age))
                if node.alive:
                    self._last_alive[node_id] = now
            for node_id, ring in list(self._rings.items()):
                if node_id in cluster.nodes:
                    continue
                ring.append(Sample(now, LOST, None))
                if len(ring) == self._size and all(s.state == LOST for s in ring):
                    self._forget(node_id)
            while len(self._rings) > self._max_nodes:
                self._forget(min(self._rings, key=lambda nid: self._last_alive.get(nid, 0.0)))

    def tracks(self) -> list[NodeTrack]:
        """Every node in the history, sorted by id, with a copy of its samples."""
        with self._lock:
            return [
                NodeTrack(
                    node_id=node_id,
                    state=ring[-1].state,
                    last_alive=self._last_alive.get(node_id),
                    samples=list(ring),
                )
                for node_id, ring in sorted(self._rings.items())
            ]

    def _append(self, node_id: str, sample: Sample) -> None:
        ring = self._rings.get(node_id)
        if ring is None:
            ring = self._rings[node_id] = deque(maxlen=self._size)
        ring.append(sample)

    def _forget(self, node_id: str) -> None:
        self._rings.pop(node_id, None)
        self._last_alive.pop(node_id, None)


class HistorySampler:
    """Samples the cluster into a ``NodeHistory`` on a daemon thread."""

    def __init__(
        self,
        *,
        coord: Coordination,
        history: NodeHistory,
        interval_s: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._coord = coord
        self._history = history
        self._interval = interval_s
        self._wall = wall
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def sample(self) -> None:
        """One observation (public so tests can drive it); a backend that does not
        answer skips the sample, logged once per outage."""
        now = self._wall()
        try:
            cluster = observe(self._coord, datetime.fromtimestamp(now, UTC))
        except Exception as exc:
            if not self._failing:
                log.warning("node history: cannot observe the cluster: %s", exc)
            self._failing = True
            return
        self._failing = False
        self._history.record(cluster, now)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="livecore-api-history", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)
