"""Feeds through a real bus (memory and Tansu): replay publishes every row once,
in order per symbol, stamped live; the synthetic feed is reproducible; a
running feed stops when asked."""

from __future__ import annotations

import threading
import uuid

from tests.servers import wait_until

from livecore.adapters.factory import open_bus
from livecore.feed.bundled import bundled_data_dir
from livecore.feed.config import FeedConfig
from livecore.feed.readers import load_replay
from livecore.feed.runner import FeedRunner, replay_schedule
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings
from livecore.ports.bus import Bus, ConsumerSettings
from livecore.topology import TopicLayout
from livecore.wire.codec import market_events
from livecore.wire.messages import Bar, MarketEvent, Tick
from livecore.wire.names import Topics
from livecore.wire.partitioning import market_partition

CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750)


def read_all(bus: Bus, topic: str, count: int) -> list[tuple[bytes | None, MarketEvent]]:
    consumer = bus.consumer(f"r-{uuid.uuid4().hex}", [topic], "earliest", CONSUMER)
    out: list[tuple[bytes | None, MarketEvent]] = []
    try:

        def enough() -> bool:
            out.extend((r.key, market_events.decode(r.value)) for r in consumer.poll(5000, 0.1))
            return len(out) >= count

        wait_until(enough, 60, f"{count} market events")
        out.extend((r.key, market_events.decode(r.value)) for r in consumer.poll(5000, 0.3))
    finally:
        consumer.close()
    return out


def test_replay_publishes_every_row_once_in_order_per_symbol(bus_url: str) -> None:
    bus = open_bus(bus_url)
    prefix = f"f{uuid.uuid4().hex[:8]}."
    data = load_replay(bundled_data_dir(), symbols=["AAPL", "IBM"])
    clock_values = iter(range(10**18, 10**18 + 10**6))
    runner = FeedRunner(
        bus,
        replay_schedule(data, speed=0),
        FeedConfig(topic_prefix=prefix, topics=TopicLayout(market_data=3)),
        total=len(data.events),
        clock=lambda: next(clock_values),
    )
    try:
        assert runner.run(threading.Event()) == len(data.events) == 2 * 757
        assert runner.delivered == len(data.events) and runner.failed == 0
        received = read_all(bus, Topics(prefix).market_data, len(data.events))
    finally:
        bus.close()
    assert len(received) == len(data.events)
    assert all(key == event.symbol.encode() for key, event in received)
    for symbol in ("AAPL", "IBM"):
        sent = [(e.close, e.volume) for e in data.events if e.symbol == symbol and isinstance(e, Bar)]
        got = [(e.close, e.volume) for _, e in received if e.symbol == symbol and isinstance(e, Bar)]
        assert got == sent
        stamps = [e.ts_ns for _, e in received if e.symbol == symbol]
        assert stamps == sorted(stamps) and stamps[0] >= 10**18  # rewritten to the (injected) clock


def test_synthetic_feed_is_reproducible_through_the_bus(bus_url: str) -> None:
    bus = open_bus(bus_url)
    try:
        runs = []
        for _ in range(2):
            prefix = f"s{uuid.uuid4().hex[:8]}."
            feed = SyntheticFeed(SyntheticSettings(symbols=4, rate=50_000, duration_s=0.01, seed=11))
            feed_settings = FeedConfig(topic_prefix=prefix, topics=TopicLayout(market_data=2))
            runner = FeedRunner(bus, feed.events(), feed_settings, total=500)
            assert runner.run(threading.Event()) == 500
            events = [e for _, e in read_all(bus, Topics(prefix).market_data, 500)]
            runs.append(sorted((e.symbol, e.price, e.size) for e in events if isinstance(e, Tick)))
    finally:
        bus.close()
    assert runs[0] == runs[1] and len(runs[0]) == 500


def test_each_event_goes_to_its_symbols_partition_of_the_real_topic(bus_url: str) -> None:
    """The feed names the partition (the wire's partitioner) over the partition count
    the topic really has, not the one its own layout would have created."""
    bus = open_bus(bus_url)
    prefix = f"p{uuid.uuid4().hex[:8]}."
    topic = Topics(prefix).market_data
    try:
        bus.create_topics({topic: 5})  # made by someone else, with another count
        feed = SyntheticFeed(SyntheticSettings(symbols=12, rate=50_000, duration_s=0.004, seed=3))
        runner = FeedRunner(bus, feed.events(), FeedConfig(topic_prefix=prefix, topics=TopicLayout(market_data=2)))
        assert runner.run(threading.Event()) == 200
        consumer = bus.consumer(f"r-{uuid.uuid4().hex}", [topic], "earliest", CONSUMER)
        records = []
        try:

            def enough() -> bool:
                records.extend(consumer.poll(5000, 0.1))
                return len(records) >= 200

            wait_until(enough, 60, "200 market events")
        finally:
            consumer.close()
    finally:
        bus.close()
    assert {r.partition for r in records} <= set(range(5))
    for record in records:
        symbol = market_events.decode(record.value).symbol
        assert record.partition == market_partition(symbol, 5) == runner.partition(symbol)


def test_runner_in_a_thread_stops_when_asked() -> None:
    bus = open_bus(f"memory://{uuid.uuid4().hex}")
    feed = SyntheticFeed(SyntheticSettings(symbols=2, rate=200, seed=1))  # endless
    runner = FeedRunner(bus, feed.events(), FeedConfig(topic_prefix="x."))
    runner.start()
    wait_until(lambda: runner.published >= 5, 10, "first events")
    runner.stop()
    assert runner.join(5) and runner.error is None
    assert runner.published == runner.delivered
    assert runner.total is None
