"""The observed cluster: what the nodes say about themselves in their
heartbeats and metrics hashes, read the same way by the scheduler and the
operator surfaces (so they agree on who is dead).

A node is alive while its heartbeat key lives (the node SETEXes it with its
TTL). With ``dead_after`` set, a heartbeat whose timestamp is older than that
also counts as dead, for detection faster than the node's own TTL. A node
whose coordination session (its token in the metrics hash) reads CLOSED is
dead at once, whatever its heartbeat key says: its process is gone (``kill
-9`` closes the session's socket), while a stalled process keeps its session
and is judged by its TTL. Each dead node says why (``NodeLoss``). Parsing is
pure and tolerant: a malformed field reads as "unknown", never as an error
that would stop the scheduler; so does a session check the backend cannot
answer (the TTL rule alone then).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from livecore.control.metrics import PAUSED, NodeMetrics
from livecore.ports.coordination import Coordination, CoordinationError, SessionState
from livecore.wire import names

log = logging.getLogger(__name__)

_WARN_EVERY_S = 60.0
_warned_at = -_WARN_EVERY_S


class NodeLoss(StrEnum):
    """Why a node counts as dead (the ``reason`` of a failover in the audit log)."""

    HEARTBEAT_EXPIRED = "heartbeat_expired"  # its key is gone: TTL ran out, or it stopped (or went silent)
    HEARTBEAT_STALE = "heartbeat_stale"  # its last beat is older than ``dead_after``
    SESSION_CLOSED = "session_closed"  # its coordination session ended: the process is gone


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
    lost: NodeLoss | None = None  # why it is dead; None while alive

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
    session: SessionState = SessionState.UNKNOWN,
) -> NodeState:
    """Judge one node from its raw heartbeat value (None if the key is gone), metrics
    and the state of the session its metrics name."""
    return judge_node(node_id, heartbeat, NodeMetrics.from_hash(metrics), now, dead_after, session)


def judge_node(
    node_id: str,
    heartbeat: str | None,
    report: NodeMetrics,
    now: datetime,
    dead_after: float | None,
    session: SessionState,
) -> NodeState:
    """``node_state`` on an already decoded report."""
    at = parse_timestamp(heartbeat)
    age = None if at is None else max(0.0, (now - at).total_seconds())
    lost = None
    if heartbeat is None:
        lost = NodeLoss.HEARTBEAT_EXPIRED
    elif session is SessionState.CLOSED:
        lost = NodeLoss.SESSION_CLOSED
    elif dead_after is not None and age is not None and age > dead_after:
        lost = NodeLoss.HEARTBEAT_STALE
    portfolios = report.portfolios
    return NodeState(
        node_id=node_id,
        alive=lost is None,
        lost=lost,
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

    def losses(self) -> dict[str, NodeLoss]:
        """{node id: why it is dead} over the dead nodes seen."""
        return {nid: n.lost for nid, n in self.nodes.items() if n.lost is not None}

    def sessions(self) -> dict[str, str]:
        """{node id: session token} of the live nodes that report one."""
        return {nid: n.metrics.session for nid, n in self.nodes.items() if n.alive and n.metrics.session}

    def reported(self) -> dict[str, dict[str, int]]:
        """{portfolio id: {node id: epoch}} over live nodes."""
        out: dict[str, dict[str, int]] = {}
        for node in self.alive.values():
            for pid, epoch in node.portfolios.items():
                out.setdefault(pid, {})[node.node_id] = epoch
        return out


def observe(coord: Coordination, now: datetime | None = None, dead_after: float | None = None) -> Cluster:
    """Read every heartbeat and metrics hash, then the sessions they name. Heartbeats
    are read first so that a node seen alive also has its freshest metrics read after,
    and sessions last, so that a session is never read before the token naming it."""
    now = now or datetime.now(UTC)
    heartbeats: dict[str, str | None] = {}
    for key in coord.scan(names.HEARTBEAT_PREFIX):
        heartbeats[key[len(names.HEARTBEAT_PREFIX) :]] = coord.get(key)
    ids = set(heartbeats) | {key[len(names.METRICS_PREFIX) :] for key in coord.scan(names.METRICS_PREFIX)}
    reports = {node_id: NodeMetrics.from_hash(coord.hgetall(names.metrics_key(node_id))) for node_id in sorted(ids)}
    tokens = {
        node_id: report.session
        for node_id, report in reports.items()
        if heartbeats.get(node_id) is not None and report.session
    }
    states = session_states(coord, tokens.values())
    nodes = {}
    for node_id, report in reports.items():
        session = states.get(tokens.get(node_id, ""), SessionState.UNKNOWN)
        nodes[node_id] = judge_node(node_id, heartbeats.get(node_id), report, now, dead_after, session)
    return Cluster(nodes)


def session_states(coord: Coordination, tokens: Collection[str]) -> dict[str, SessionState]:
    """``coord.session_states``, or nothing known when the backend cannot say (a
    server without ``CLIENT LIST ID``, a proxy): the TTL rule alone then, with a
    warning at most once a minute."""
    global _warned_at
    if not tokens:
        return {}
    try:
        return coord.session_states(tokens)
    except CoordinationError as exc:
        now = time.monotonic()
        if now - _warned_at >= _WARN_EVERY_S:
            _warned_at = now
            log.warning("cannot read node sessions (%s): nodes are judged by their heartbeat TTL alone", exc)
        return {}
