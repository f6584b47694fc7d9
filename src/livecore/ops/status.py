"""``status``: the whole system on one page, from the registry, the fences, the
nodes' heartbeats and metrics, the portfolio views the nodes write and the
leader's published status. Read-only; needs no bus.

Portfolio ``state`` is one of: ``running``, ``paused`` (its node is paused),
``faulted``, ``loading`` (placed, not yet reported by its node),
``migrating``, ``pending: <reason>`` (waiting for a node, e.g.
``pending: no live node``), ``stopping`` (stopped but still hosted),
``stopped``, ``degraded: bus`` (its node's message bus does not work, e.g.
the broker is down: it cannot trade).

Each node row carries ``problems``: its counters that mean something went
wrong (dead letters, records its loops gave up, loop errors, mailbox offers
that raised: ``names.NODE_PROBLEM_FIELDS``), those above zero.

``health`` is ``ok`` or ``degraded``; ``problems`` says why, one line per
process whose bus is unhealthy or lost records behind retention (nodes from
their metrics hash, gateways and feeds from their ``bus:health:*`` reports).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from livecore.control.cluster import Cluster, NodeState, observe
from livecore.control.metrics import PAUSED, NodeMetrics
from livecore.control.requests import NO_LIVE_NODE, MigrationProgress, SchedulerStatus, read_status
from livecore.health import ProcessBusHealth, bus_problems, read_bus_health
from livecore.ops.context import Ops
from livecore.ops.halt import HaltReport, halt_status
from livecore.ports.store import RegistryEntry
from livecore.wire import names


class LeaderInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``scheduler_id`` None: no scheduler leads (nothing is placed or failed over)."""

    scheduler_id: str | None
    epoch: int | None
    status_age_s: float | None


class NodeRow(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    alive: bool
    state: str
    heartbeat_age_s: float | None
    portfolio_count: int | None
    capacity: int | None
    queue_size: float | None
    cpu_usage: float | None
    memory_usage: float | None
    backpressure_count: int | None
    dropped_events: int | None
    total_events: int | None
    started_at: str | None
    updated_at: str | None
    bus_ok: bool | None = None
    bus_reason: str | None = None
    bus_lost_records: int | None = None
    problems: dict[str, int] = {}  # non-zero counters of ``names.NODE_PROBLEM_FIELDS``
    market_time_ns: int | None = None  # the newest market event timestamp the node has seen
    read_amplification: float | None = None  # market records read per event routed, since the node started
    market_partitions: int | None = None  # partitions of market.data the node reads ...
    market_partitions_total: int | None = None  # ... of how many


class PositionRow(msgspec.Struct, frozen=True, kw_only=True):
    quantity: str
    avg_cost: str | None
    market_value: str | None


class PortfolioStatus(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    desired: str
    state: str
    node_id: str | None
    epoch: int
    fence_epoch: int | None
    fence_owner: str | None
    loaded_on: dict[str, int]
    equity: str | None = None
    cash: str | None = None
    positions: dict[str, PositionRow] = {}
    last_order_id: str | None = None
    fault: str | None = None
    initial_cash: str | None = None
    realized_pnl: str | None = None
    unrealized_pnl: str | None = None
    return_ratio: str | None = None  # equity / initial cash - 1, exact to 8 places
    halted: bool = False  # a risk rule halted its trading (e.g. the daily loss limit)


class StatusReport(msgspec.Struct, frozen=True, kw_only=True):
    generated_at: str
    leader: LeaderInfo
    nodes: list[NodeRow]
    portfolios: list[PortfolioStatus]
    migrations: list[MigrationProgress]
    health: str = "ok"
    problems: list[str] = []
    bus: list[ProcessBusHealth] = []
    halt: HaltReport | None = None  # the cluster kill switch, while it is in force


def status(ops: Ops) -> StatusReport:
    now = datetime.now(UTC)
    cluster = observe(ops.coord, now)
    entries = ops.store.registry.list()
    published = read_status(ops.coord)
    lease = ops.coord.current_lease(ops.config.lease_name)
    leader = LeaderInfo(
        scheduler_id=lease.holder if lease else None,
        epoch=lease.epoch if lease else None,
        status_age_s=None if published is None else max(0.0, now.timestamp() - published.updated_ns / 1e9),
    )
    node_ids = set(cluster.nodes) | {e.node_id for e in entries if e.node_id}
    nodes = [_node_row(cluster.nodes.get(nid) or NodeState(nid, alive=False)) for nid in sorted(node_ids)]
    reported = cluster.reported()
    portfolios = [_portfolio(ops, e, cluster, reported.get(e.portfolio_id, {}), published) for e in entries]
    live_nodes = {names.node_process(nid) for nid, node in cluster.nodes.items() if node.alive}
    bus = [
        b
        for b in read_bus_health(ops.coord)
        if not b.process.startswith(names.NODE_PROCESS_PREFIX) or b.process in live_nodes
    ]
    problems = [line for b in bus for line in bus_problems(b)]
    halt = halt_status(ops, cluster)
    return StatusReport(
        halt=halt if halt.halted else None,
        health="degraded" if problems else "ok",
        problems=problems,
        bus=bus,
        generated_at=now.isoformat(),
        leader=leader,
        nodes=nodes,
        portfolios=portfolios,
        migrations=list(published.migrations) if published else [],
    )


def _node_row(node: NodeState) -> NodeRow:
    m = node.metrics
    bus = m.bus_health(node.node_id)
    return NodeRow(
        bus_ok=None if bus is None else bus.ok,
        bus_reason=None if bus is None or bus.ok else bus.reason,
        bus_lost_records=None if bus is None else bus.lost_records,
        node_id=node.node_id,
        alive=node.alive,
        state=node.state,
        heartbeat_age_s=None if node.heartbeat_age is None else round(node.heartbeat_age, 3),
        portfolio_count=m.portfolio_count,
        capacity=m.capacity,
        queue_size=m.queue_size,
        cpu_usage=m.cpu_usage,
        memory_usage=None if m.memory_usage is None else float(m.memory_usage),
        backpressure_count=m.backpressure_count,
        dropped_events=m.dropped_events,
        total_events=m.total_events,
        started_at=m.started_at,
        updated_at=m.updated_at,
        problems=_problem_counters(m),
        market_time_ns=m.market_time_ns,
        read_amplification=m.read_amplification,
        market_partitions=m.market_partitions,
        market_partitions_total=m.market_partitions_total,
    )


def _problem_counters(metrics: NodeMetrics) -> dict[str, int]:
    """The node's counters that mean something went wrong, those above zero."""
    found = {name: metrics.count(name) for name in names.NODE_PROBLEM_FIELDS}
    return {name: count for name, count in found.items() if count}


def _portfolio(
    ops: Ops,
    entry: RegistryEntry,
    cluster: Cluster,
    copies: dict[str, int],
    published: SchedulerStatus | None,
) -> PortfolioStatus:
    pid = entry.portfolio_id
    fence = ops.coord.get_fence(names.portfolio_epoch_key(pid))
    view = _view(ops, pid)
    state = _state(entry, cluster, copies, published, view)
    positions = {}
    for symbol, pos in (view.get("positions") or {}).items():
        if isinstance(pos, dict):
            positions[str(symbol)] = PositionRow(
                quantity=str(pos.get("quantity", "0")),
                avg_cost=_str(pos.get("avg_cost")),
                market_value=_str(pos.get("market_value")),
            )
    return PortfolioStatus(
        portfolio_id=pid,
        desired=entry.desired,
        state=state,
        node_id=entry.node_id,
        epoch=entry.epoch,
        fence_epoch=fence.epoch if fence else None,
        fence_owner=fence.owner if fence else None,
        loaded_on=dict(sorted(copies.items())),
        equity=_str(view.get("equity")),
        cash=_str(view.get("cash")),
        positions=positions,
        last_order_id=_str(view.get("last_order_id")),
        fault=_str(view.get("fault")),
        initial_cash=_str(view.get("initial_cash")),
        realized_pnl=_str(view.get("realized_pnl")),
        unrealized_pnl=_str(view.get("unrealized_pnl")),
        return_ratio=_return_ratio(view.get("equity"), view.get("initial_cash")),
        halted=view.get("halted") is True,
    )


def _state(
    entry: RegistryEntry,
    cluster: Cluster,
    copies: dict[str, int],
    published: SchedulerStatus | None,
    view: dict[str, Any],
) -> str:
    pid, node = entry.portfolio_id, entry.node_id
    if entry.desired == "stopped":
        return "stopping" if copies else "stopped"
    if published is not None and any(m.portfolio_id == pid for m in published.migrations):
        return "migrating"
    reason = published.pending.get(pid) if published else None
    if node is None or not (node in cluster.nodes and cluster.nodes[node].alive):
        if reason is None:
            if not cluster.alive:
                reason = NO_LIVE_NODE
            elif node is not None:
                reason = f"node {node} is dead; awaiting failover"
            else:
                reason = "awaiting placement"
        return f"pending: {reason}"
    if copies.get(node) != entry.epoch:
        return f"pending: {reason}" if reason else "loading"
    if view.get("faulted"):
        return "faulted"
    if cluster.nodes[node].state == PAUSED:
        return "paused"
    bus = cluster.nodes[node].metrics.bus_health(node)
    if bus is not None and not bus.ok:
        return "degraded: bus"
    return "running"


def _view(ops: Ops, portfolio_id: str) -> dict[str, Any]:
    raw = ops.coord.get(names.portfolio_view_key(portfolio_id))
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


RETURN_PLACES = Decimal("1E-8")


def _return_ratio(equity: object, initial: object) -> str | None:
    """``equity / initial - 1`` in exact decimals (None when either is missing or unreadable)."""
    try:
        start = Decimal(str(initial))
        ratio = Decimal(str(equity)) / start - 1 if start > 0 else None
    except (InvalidOperation, ArithmeticError):
        return None
    return None if ratio is None or not ratio.is_finite() else str(ratio.quantize(RETURN_PLACES))


def _str(value: object) -> str | None:
    return None if value is None else str(value)
