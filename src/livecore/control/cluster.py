"""The observed cluster: what the nodes say about themselves in their
heartbeats and metrics hashes, read the same way by the scheduler and the
operator surfaces (so they agree on who is dead).

A node is alive while its heartbeat key lives (the node SETEXes it with its
TTL). With ``dead_after`` set, a heartbeat whose timestamp is older than that
also counts as dead, for detection faster than the node's own TTL. Parsing is
pure and tolerant: a malformed field reads as "unknown", never as an error
that would stop the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from livecore.control.metrics import PAUSED, NodeMetrics
from livecore.ports.coordination import Coordination
from livecore.wire import names


def parse_timestamp(text: str | None) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (naive means UTC); None if unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node as observed in one pass. ``portfolios`` is what it reports loaded
    ({id: epoch}); ``reports_known`` is False when its metrics are missing or
    unreadable (then nothing can be concluded from ``portfolios`` being empty)."""

    node_id: str
    alive: bool
    heartbeat_at: datetime | None = None
    heartbeat_age: float | None = None
    metrics: NodeMetrics = field(default_factory=NodeMetrics)
    portfolios: Mapping[str, int] = field(default_factory=dict)
    reports_known: bool = False

    @property
    def state(self) -> str:
        if not self.alive:
            return "dead"
        return self.metrics.state or "unknown"

    @property
    def accepting(self) -> bool:
        """May receive new portfolios: alive, reporting, and not paused."""
        return self.alive and self.reports_known and self.state != PAUSED

    def capacity(self, default: int) -> int:
        value = self.metrics.capacity
        return value if value is not None and value > 0 else default


def node_state(
    node_id: str,
    heartbeat: str | None,
    metrics: Mapping[str, str],
    now: datetime,
    dead_after: float | None,
) -> NodeState:
    """Judge one node from its raw heartbeat value (None if the key is gone) and metrics."""
    at = parse_timestamp(heartbeat)
    age = None if at is None else max(0.0, (now - at).total_seconds())
    alive = heartbeat is not None
    if alive and dead_after is not None and age is not None and age > dead_after:
        alive = False
    report = NodeMetrics.from_hash(metrics)
    portfolios = report.portfolios
    return NodeState(
        node_id=node_id,
        alive=alive,
        heartbeat_at=at,
        heartbeat_age=age,
        metrics=report,
        portfolios=portfolios or {},
        reports_known=portfolios is not None,
    )


@dataclass(frozen=True, slots=True)
class Cluster:
    """Every node seen in one pass (alive or with leftover metrics), by id."""

    nodes: Mapping[str, NodeState]

    @property
    def alive(self) -> dict[str, NodeState]:
        return {nid: n for nid, n in self.nodes.items() if n.alive}

    def reported(self) -> dict[str, dict[str, int]]:
        """{portfolio id: {node id: epoch}} over live nodes."""
        out: dict[str, dict[str, int]] = {}
        for node in self.alive.values():
            for pid, epoch in node.portfolios.items():
                out.setdefault(pid, {})[node.node_id] = epoch
        return out


def observe(coord: Coordination, now: datetime | None = None, dead_after: float | None = None) -> Cluster:
    """Read every heartbeat and metrics hash. Heartbeats are read first so that a
    node seen alive also has its freshest metrics read after."""
    now = now or datetime.now(UTC)
    heartbeats: dict[str, str | None] = {}
    for key in coord.scan(names.HEARTBEAT_PREFIX):
        heartbeats[key[len(names.HEARTBEAT_PREFIX) :]] = coord.get(key)
    ids = set(heartbeats) | {key[len(names.METRICS_PREFIX) :] for key in coord.scan(names.METRICS_PREFIX)}
    nodes = {}
    for node_id in sorted(ids):
        metrics = coord.hgetall(names.metrics_key(node_id))
        nodes[node_id] = node_state(node_id, heartbeats.get(node_id), metrics, now, dead_after)
    return Cluster(nodes)
