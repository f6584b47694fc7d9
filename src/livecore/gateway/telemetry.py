"""What a trade gateway exports on its process's ``/metrics`` (label ``gateway``).

Counters of the desk (``GatewayStats``) and of the feedback publisher, read at
scrape time. Fills and rejections count outcomes once journaled and published
(a resend's republished outcomes are not counted again).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from livecore.gateway.service import TradeGateway
from livecore.telemetry import Counter, Gauge, MetricSet, export

GATEWAY_METRICS: MetricSet[TradeGateway] = MetricSet(
    "gateway",
    (
        Counter("livecore_gateway_orders_total", "New-order records the gateway handled.", lambda g: g.stats.orders),
        Counter(
            "livecore_gateway_duplicate_orders_total",
            "Orders seen again (a resend): their journaled outcomes were republished.",
            lambda g: g.stats.duplicates,
        ),
        Counter(
            "livecore_gateway_fills_total",
            "Fill reports (partial or final) journaled and published.",
            lambda g: None if g.publisher is None else g.publisher.fills,
        ),
        Counter(
            "livecore_gateway_rejections_total",
            "Rejections journaled and published (stale epoch, no owner, halted, by the venue, ...).",
            lambda g: None if g.publisher is None else g.publisher.rejections,
        ),
        Counter(
            "livecore_gateway_feedback_published_total",
            "Execution reports journaled and published on orders.feedback.",
            lambda g: None if g.publisher is None else g.publisher.published,
        ),
        Counter(
            "livecore_gateway_market_events_total",
            "Market events the paper broker matched against.",
            lambda g: g.stats.market_events,
        ),
        Gauge(
            "livecore_gateway_halted_portfolios",
            "Portfolios halted because a fill or acceptance could not be journaled yet.",
            lambda g: None if g.publisher is None else g.publisher.halted_portfolios,
        ),
    ),
)


def export_gateway(gateway: TradeGateway, registry: CollectorRegistry) -> None:
    """``gateway`` becomes the series ``gateway=<its id>`` of every family above."""
    export(registry, GATEWAY_METRICS, gateway.gateway_id, gateway)
