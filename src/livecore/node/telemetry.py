"""What a node exports on its process's ``/metrics`` (label ``node``).

Live counters of the node's own loops, read at scrape time; the API's
``livecore_node_*`` series are the same node seen through its metrics hash, a
heartbeat late, under other names (docs/API.md). Read amplification, the
events a node reads per event one of its portfolios wanted, is
``received / routed``: a node reads the partitions of ``market.data`` that hold
its portfolios' symbols, so it also receives the other symbols of those
partitions. The gauge is the ratio since the node started; a rate over a
window is ``rate(received) / rate(routed)``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from livecore.node.node import ExecutionNode
from livecore.telemetry import Counter, Gauge, HistogramOf, MetricSet, export

TICK_TO_ORDER = "livecore_tick_to_order_seconds"
EVENT_AGE = "livecore_event_age_seconds"

NODE_METRICS: MetricSet[ExecutionNode] = MetricSet(
    "node",
    (
        Counter(
            "livecore_node_market_events_received_total",
            "Market-data records the node polled (from the partitions it reads).",
            lambda n: n.market_loop.events,
        ),
        Counter(
            "livecore_node_market_events_routed_total",
            "Market events delivered to at least one hosted portfolio.",
            lambda n: n.market_loop.routed,
        ),
        Counter(
            "livecore_node_market_events_unrouted_total",
            "Market events no hosted portfolio trades.",
            lambda n: n.market_loop.unrouted,
        ),
        Counter(
            "livecore_node_market_events_stale_total",
            "Market events skipped as older than the node's max tick age.",
            lambda n: n.market_loop.stale,
        ),
        Counter(
            "livecore_node_market_events_conflated_total",
            "Market events replaced in a full mailbox by a newer one of the same symbol.",
            lambda n: n.market_loop.conflated,
        ),
        Counter(
            "livecore_node_feedback_received_total",
            "Order-feedback records the node polled.",
            lambda n: n.feedback_loop.events,
        ),
        Counter("livecore_node_orders_delivered_total", "Orders the bus confirmed.", lambda n: n.orders_delivered),
        Counter(
            "livecore_node_order_delivery_failures_total",
            "Order deliveries that failed (each is sent again).",
            lambda n: n.order_failures,
        ),
        Gauge("livecore_node_hosted_portfolios", "Portfolios the node hosts now.", lambda n: len(n.portfolios)),
        Gauge(
            "livecore_node_read_amplification",
            "Market records received per event routed to a hosted portfolio, since the node started.",
            lambda n: n.market_loop.read_amplification,
        ),
        Gauge(
            "livecore_node_market_partitions",
            "Partitions of market.data the node reads now.",
            lambda n: len(n.market_partitions),
        ),
        HistogramOf(
            TICK_TO_ORDER,
            "Market record polled -> order handed to the producer, in the node (seconds).",
            lambda n: n.latency.snapshot(),
        ),
        HistogramOf(
            EVENT_AGE,
            "Wall clock when the node takes a market event minus the event's timestamp (seconds).",
            lambda n: n.market_loop.event_age.snapshot(),
        ),
    ),
)


def export_node(node: ExecutionNode, registry: CollectorRegistry) -> None:
    """``node`` becomes the series ``node=<its id>`` of every family above."""
    export(registry, NODE_METRICS, node.node_id, node)
