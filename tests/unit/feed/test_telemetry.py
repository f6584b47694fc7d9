"""A feed's own metrics: published and delivered, read at scrape time."""

from __future__ import annotations

import uuid
from decimal import Decimal

from prometheus_client import CollectorRegistry, generate_latest

from livecore.adapters.memory_bus import MemoryBus
from livecore.feed.runner import FeedRunner
from livecore.feed.telemetry import export_feed
from livecore.testing.scrape import parse
from livecore.wire.messages import Tick


def test_published_and_delivered_are_counted() -> None:
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    try:
        schedule = [(0.0, Tick(symbol=f"S{i % 3}", ts_ns=1, price=Decimal("10.5"))) for i in range(25)]
        runner = FeedRunner(bus, schedule, total=25, name="feed-test")
        registry = CollectorRegistry()
        export_feed(runner, "feed-test", registry)
        before = parse(generate_latest(registry).decode())
        assert before.value("livecore_feed_events_published_total", feed="feed-test") == 0
        runner.start()
        assert runner.join(30)
        after = parse(generate_latest(registry).decode())
    finally:
        bus.close()
    assert after.value("livecore_feed_events_published_total", feed="feed-test") == 25
    assert after.value("livecore_feed_events_delivered_total", feed="feed-test") == 25
    assert after.value("livecore_feed_delivery_failures_total", feed="feed-test") == 0
