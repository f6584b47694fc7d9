"""What a venue broker exports on its gateway's ``/metrics`` (label ``venue``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from livecore.telemetry import Counter, Gauge, MetricSet, export
from livecore.venues.ccxt.broker import CcxtBroker

VENUE_METRICS: MetricSet[CcxtBroker] = MetricSet(
    "venue",
    (
        Counter("livecore_venue_orders_sent_total", "Placements sent to the venue.", lambda b: b.stats.sent),
        Counter(
            "livecore_venue_rejected_locally_total",
            "Orders rejected before they left (market rules, caps, unsupported).",
            lambda b: b.stats.rejected_locally,
        ),
        Counter("livecore_venue_rejected_total", "Orders the venue refused.", lambda b: b.stats.rejected_by_venue),
        Counter(
            "livecore_venue_unknown_outcomes_total",
            "Placements without an answer, looked up by client id.",
            lambda b: b.stats.unknown_outcomes,
        ),
        Counter(
            "livecore_venue_not_received_total",
            "Of those, orders the venue never received (rejected, not resent).",
            lambda b: b.stats.not_received,
        ),
        Counter("livecore_venue_rate_limited_total", "Rate-limit answers waited out.", lambda b: b.stats.rate_limited),
        Counter(
            "livecore_venue_clock_resyncs_total",
            "Requests the venue refused for their timestamp (the clock re-synchronised).",
            lambda b: b.stats.clock_resyncs,
        ),
        Counter("livecore_venue_stream_drops_total", "Private websocket drops.", lambda b: b.stats.stream_drops),
        Counter(
            "livecore_venue_gap_fills_total",
            "Orders whose trades were read over REST because reports were missing.",
            lambda b: b.stats.gap_fills,
        ),
        Gauge(
            "livecore_venue_unknown_orders",
            "Venue orders livecore did not send (reported, left alone).",
            lambda b: b.stats.unknown_venue_orders,
        ),
        Gauge("livecore_venue_working_orders", "Orders working at the venue.", lambda b: len(b.open_orders())),
    ),
)


def export_venue(broker: CcxtBroker, registry: CollectorRegistry) -> None:
    """``broker`` becomes the series ``venue=<its name>`` of every family above."""
    export(registry, VENUE_METRICS, broker.profile.name, broker)
