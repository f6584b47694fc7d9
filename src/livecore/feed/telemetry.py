"""What a feed exports on its process's ``/metrics`` (label ``feed``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from livecore.feed.runner import FeedRunner
from livecore.telemetry import Counter, MetricSet, export

FEED_METRICS: MetricSet[FeedRunner] = MetricSet(
    "feed",
    (
        Counter(
            "livecore_feed_events_published_total",
            "Market events handed to the producer on market.data.",
            lambda f: f.published,
        ),
        Counter(
            "livecore_feed_events_delivered_total",
            "Market events the bus confirmed (when the feed tracks deliveries; collected every poll_every events).",
            lambda f: f.delivered,
        ),
        Counter(
            "livecore_feed_delivery_failures_total",
            "Market events the bus failed to deliver (not sent again: a tick is only worth its freshest value).",
            lambda f: f.failed,
        ),
    ),
)


def export_feed(feed: FeedRunner, name: str, registry: CollectorRegistry) -> None:
    """``feed`` becomes the series ``feed=name`` of every family above."""
    export(registry, FEED_METRICS, name, feed)
