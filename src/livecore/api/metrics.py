"""Prometheus exposition of what the nodes publish, read at scrape time.

Nothing is cached or pushed: each scrape reads the heartbeats and metrics
hashes (through ``control.cluster.observe``, as the scheduler does, so the API
and the scheduler agree on who is dead), the portfolio views and the registry. A private
``CollectorRegistry`` keeps the output free of this process's own metrics and
lets several apps live in one process (tests, ``livecore run``).

A backend that fails does not fail the scrape: ``livecore_coordination_up`` or
``livecore_store_up`` reads 0 and that source's series are left out, which is
what an alert needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from livecore.control.cluster import Cluster, observe
from livecore.control.metrics import PAUSED, RUNNING, NodeMetrics, parse_float
from livecore.health import read_bus_health
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.wire import names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Field:
    """One field of the portfolio view and the metric it becomes."""

    field: str
    metric: str
    help: str


@dataclass(frozen=True, slots=True)
class NodeField:
    """One field of the node metrics struct and the metric it becomes."""

    read: Callable[[NodeMetrics], float | None]
    metric: str
    help: str


# Levels: gauges.
NODE_GAUGES: tuple[NodeField, ...] = (
    NodeField(lambda m: m.portfolio_count, "livecore_node_portfolios", "Portfolios loaded on the node."),
    NodeField(lambda m: m.queue_size, "livecore_node_queue_size", "Average mailbox size over the node's portfolios."),
    NodeField(
        lambda m: None if m.cpu_usage is None else m.cpu_usage / 100,
        "livecore_node_cpu_usage_ratio",
        "CPU time of the node process per second of wall time (1 = one core).",
    ),
    NodeField(lambda m: m.memory_usage, "livecore_node_memory_usage_bytes", "Resident set size of the node process."),
    NodeField(lambda m: m.capacity, "livecore_node_capacity", "Most portfolios the node accepts."),
    NodeField(lambda m: m.faulted, "livecore_node_faulted_portfolios", "Loaded portfolios whose strategy faulted."),
    NodeField(
        lambda m: m.read_amplification,
        "livecore_node_market_read_amplification",
        "Market records the node read per event routed to one of its portfolios, since it started.",
    ),
    NodeField(
        lambda m: m.market_partitions,
        "livecore_node_market_partitions_read",
        "Partitions of market.data the node reads (those holding its portfolios' symbols).",
    ),
)

# Monotonic since the node process started: counters (a restart resets them, which rate() handles).
NODE_COUNTERS: tuple[NodeField, ...] = (
    NodeField(lambda m: m.total_events, "livecore_node_events", "Market events and order feedback consumed."),
    NodeField(
        lambda m: m.backpressure_count, "livecore_node_backpressure", "Events that met a full portfolio mailbox."
    ),
    NodeField(
        lambda m: m.dropped_events, "livecore_node_dropped_events", "Market events conflated away (latest kept)."
    ),
    NodeField(
        lambda m: m.stale_events,
        "livecore_node_stale_events",
        "Market events skipped as older than the node's max tick age.",
    ),
    NodeField(
        lambda m: m.dead_letters, "livecore_node_dead_letters", "Malformed messages sent to a dead-letter topic."
    ),
    NodeField(lambda m: m.orders_sent, "livecore_node_orders_sent", "Orders the bus confirmed."),
    NodeField(lambda m: m.order_failures, "livecore_node_order_failures", "Orders the bus failed to deliver."),
    NodeField(
        lambda m: m.commands_refused,
        "livecore_node_commands_refused",
        "Commands refused (bad signature, stale, replayed).",
    ),
    NodeField(
        lambda m: m.feedback_ignored,
        "livecore_node_feedback_ignored",
        "Order feedback for portfolios not hosted here.",
    ),
)

# Money and counts from the portfolio view (values are decimal strings or numbers).
PORTFOLIO_GAUGES: tuple[Field, ...] = (
    Field("equity", "livecore_portfolio_equity", "Equity (cash + market value), in the portfolio currency."),
    Field("cash", "livecore_portfolio_cash", "Cash, in the portfolio currency."),
    Field("reserved", "livecore_portfolio_reserved_cash", "Cash reserved by open buy orders."),
    Field("realized_pnl", "livecore_portfolio_realized_pnl", "Realized profit and loss."),
    Field("unrealized_pnl", "livecore_portfolio_unrealized_pnl", "Unrealized profit and loss at last prices."),
    Field("epoch", "livecore_portfolio_epoch", "Ownership epoch of the current placement."),
)
PORTFOLIO_COUNTERS: tuple[Field, ...] = (
    Field("orders_count", "livecore_portfolio_orders", "Orders created by the portfolio."),
    Field("fills_count", "livecore_portfolio_fills", "Fills applied to the portfolio."),
)


def number(value: Any) -> float | None:
    """A metric value from a view/hash field (decimal string, int, float); None if unreadable."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value))
        except InvalidOperation:
            return parse_float(value)
    return None


def read_views(coord: Coordination) -> dict[str, dict[str, Any]]:
    """Every live portfolio view by id; malformed ones are skipped (and logged)."""
    views: dict[str, dict[str, Any]] = {}
    for key in coord.scan(names.PORTFOLIO_VIEW_PREFIX):
        raw = coord.get(key)
        if raw is None:
            continue
        try:
            view = json.loads(raw)
        except ValueError:
            log.warning("unreadable portfolio view at %s", key)
            continue
        if isinstance(view, dict):
            views[key[len(names.PORTFOLIO_VIEW_PREFIX) :]] = view
    return views


class LivecoreCollector:
    """Reads coordination and store at each ``collect()``."""

    def __init__(
        self,
        coord: Coordination,
        store: Store | None,
        dead_after: float | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._coord = coord
        self._store = store
        self._dead_after = dead_after
        self._wall = wall

    def collect(self) -> Iterator[Metric]:
        views: dict[str, dict[str, Any]] | None = None
        coord_up = GaugeMetricFamily("livecore_coordination_up", "1 if the coordination store answered this scrape.")
        try:
            cluster = observe(self._coord, self._wall(), self._dead_after)
            views = read_views(self._coord)
        except Exception as exc:
            log.warning("metrics: coordination read failed: %s", exc)
            coord_up.add_metric([], 0)
        else:
            coord_up.add_metric([], 1)
            yield from node_metrics(cluster)
            yield from portfolio_metrics(views)
            yield from bus_metrics(self._coord)
        yield coord_up
        if self._store is not None:
            yield from self._registry_metrics(views)

    def _registry_metrics(self, views: Mapping[str, Any] | None) -> Iterator[Metric]:
        store_up = GaugeMetricFamily("livecore_store_up", "1 if the durable store answered this scrape.")
        assert self._store is not None
        try:
            entries = self._store.registry.list()
        except Exception as exc:
            log.warning("metrics: registry read failed: %s", exc)
            store_up.add_metric([], 0)
            yield store_up
            return
        store_up.add_metric([], 1)
        yield store_up
        by_desired = GaugeMetricFamily(
            "livecore_registry_portfolios", "Registered portfolios by desired state.", labels=["desired"]
        )
        counts = {"running": 0, "stopped": 0}
        for entry in entries:
            counts[entry.desired] = counts.get(entry.desired, 0) + 1
        for desired, count in sorted(counts.items()):
            by_desired.add_metric([desired], count)
        yield by_desired
        if views is not None:
            unhosted = GaugeMetricFamily(
                "livecore_portfolios_unhosted",
                "Portfolios desired running that no live node publishes a view of (pending or lost).",
            )
            unhosted.add_metric([], sum(1 for e in entries if e.desired == "running" and e.portfolio_id not in views))
            yield unhosted


def node_metrics(cluster: Cluster) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "livecore_node_up", "1 while the node heartbeats, 0 once it is judged dead.", labels=["node"]
    )
    age = GaugeMetricFamily(
        "livecore_node_heartbeat_age_seconds", "Seconds since the node's last heartbeat.", labels=["node"]
    )
    paused = GaugeMetricFamily("livecore_node_paused", "1 if the node is paused (no new orders).", labels=["node"])
    families: list[tuple[NodeField, GaugeMetricFamily | CounterMetricFamily]] = [
        (f, GaugeMetricFamily(f.metric, f.help, labels=["node"])) for f in NODE_GAUGES
    ]
    families += [(f, CounterMetricFamily(f.metric, f.help, labels=["node"])) for f in NODE_COUNTERS]
    for node_id, node in cluster.nodes.items():
        up.add_metric([node_id], 1 if node.alive else 0)
        if node.heartbeat_age is not None:
            age.add_metric([node_id], node.heartbeat_age)
        if node.alive and node.metrics.state in (RUNNING, PAUSED):
            paused.add_metric([node_id], 1 if node.metrics.state == PAUSED else 0)
        for field, family in families:
            value = field.read(node.metrics)
            if value is not None:
                family.add_metric([node_id], float(value))
    yield up
    yield age
    yield paused
    for _, family in families:
        yield family


def bus_metrics(coord: Coordination) -> Iterator[Metric]:
    """One series per process that reports its bus health (nodes, gateways, feeds)."""
    healthy = GaugeMetricFamily(
        "livecore_bus_healthy",
        "1 if the process's message bus works (broker reachable, topics as laid out), 0 if degraded.",
        labels=["process"],
    )
    for report in read_bus_health(coord):
        healthy.add_metric([report.process], 1 if report.ok else 0)
    yield healthy


def portfolio_metrics(views: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "livecore_portfolio_info",
        "Always 1; labels name the hosting node, strategy and currency (join on portfolio).",
        labels=["portfolio", "node", "strategy", "currency"],
    )
    faulted = GaugeMetricFamily("livecore_portfolio_faulted", "1 if the strategy faulted.", labels=["portfolio"])
    trading = GaugeMetricFamily(
        "livecore_portfolio_trading_enabled", "1 if the portfolio may emit orders.", labels=["portfolio"]
    )
    open_orders = GaugeMetricFamily("livecore_portfolio_open_orders", "Orders not yet final.", labels=["portfolio"])
    positions = GaugeMetricFamily(
        "livecore_portfolio_positions", "Symbols with a non-zero position.", labels=["portfolio"]
    )
    gauges = {f.field: GaugeMetricFamily(f.metric, f.help, labels=["portfolio"]) for f in PORTFOLIO_GAUGES}
    counters = {f.field: CounterMetricFamily(f.metric, f.help, labels=["portfolio"]) for f in PORTFOLIO_COUNTERS}
    for pid, view in sorted(views.items()):
        info.add_metric(
            [pid, str(view.get("node_id", "")), str(view.get("strategy", "")), str(view.get("currency", ""))], 1
        )
        faulted.add_metric([pid], 1 if view.get("faulted") else 0)
        trading.add_metric([pid], 1 if view.get("trading_enabled") else 0)
        if isinstance(view.get("open_orders"), list):
            open_orders.add_metric([pid], len(view["open_orders"]))
        held = view.get("positions")
        if isinstance(held, dict):
            positions.add_metric(
                [pid], sum(1 for p in held.values() if isinstance(p, dict) and number(p.get("quantity")))
            )
        for families in (gauges, counters):
            for name, family in families.items():
                value = number(view.get(name))
                if value is not None:
                    family.add_metric([pid], value)
    yield info
    yield faulted
    yield trading
    yield open_orders
    yield positions
    yield from gauges.values()
    yield from counters.values()


class MetricsExporter:
    """A private registry holding one ``LivecoreCollector``; ``render()`` is the scrape body."""

    CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what generate_latest writes

    def __init__(self, collector: LivecoreCollector) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)
