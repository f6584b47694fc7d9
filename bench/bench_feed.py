"""Feed throughput: how many market events per second the feeds publish.

Rows (``--speed 0``, i.e. unpaced):

- ``generate``: the synthetic generator alone (no encode, no bus);
- ``bare produce``: pre-encoded ticks straight into a producer (the ceiling);
- ``synthetic feed``: generator + stamp + encode + publish through ``FeedRunner``
  (with and without a per-message delivery callback);
- ``replay feed``: the bundled daily bars (looped) through ``FeedRunner``.

Each on the in-process bus and, with ``--kafka`` (default on), on a Tansu broker
started for the run. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_feed.py [--events 200000] [--no-kafka]
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_bus
from livecore.feed.bundled import bundled_data_dir
from livecore.feed.config import FeedConfig
from livecore.feed.readers import load_replay
from livecore.feed.runner import FeedRunner, replay_schedule
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings
from livecore.ports.bus import Bus
from livecore.wire.codec import encode
from livecore.wire.messages import MarketEvent, Tick
from livecore.wire.names import Topics


def _timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = work()
    return count, time.perf_counter() - started


def generate_only(n: int) -> int:
    feed = SyntheticFeed(SyntheticSettings(symbols=100, rate=1e9, duration_s=n / 1e9, seed=1))
    return sum(1 for _ in feed.events())


def bare_produce(bus: Bus, n: int) -> int:
    topic = Topics(f"b{uuid.uuid4().hex[:6]}.").market_data
    bus.create_topics({topic: 8})
    feed = SyntheticFeed(SyntheticSettings(symbols=100, rate=1e9, seed=1))
    payloads = [(t.symbol, encode(t)) for t in itertools.islice((e for _, e in feed.events()), 10_000)]
    producer = bus.producer()
    for i in range(n):
        key, value = payloads[i % len(payloads)]
        producer.publish(topic, key, value)
        if i % 1000 == 999:
            producer.poll(0)
    producer.flush(60)
    producer.close()
    return n


def synthetic_feed(bus: Bus, n: int, track: bool = True) -> int:
    feed = SyntheticFeed(SyntheticSettings(symbols=100, rate=1e9, duration_s=n / 1e9, seed=1))
    settings = FeedConfig(topic_prefix=f"s{uuid.uuid4().hex[:6]}.", track_deliveries=track)
    runner = FeedRunner(bus, _unpaced(feed.events()), settings)
    return runner.run(threading.Event())


def synthetic_untracked(bus: Bus, n: int) -> int:
    return synthetic_feed(bus, n, track=False)


def replay_feed(bus: Bus, n: int) -> int:
    data = load_replay(bundled_data_dir())
    schedule = itertools.islice(replay_schedule(data, speed=0, loop=True), n)
    runner = FeedRunner(bus, schedule, FeedConfig(topic_prefix=f"r{uuid.uuid4().hex[:6]}."))
    return runner.run(threading.Event())


def _unpaced(events: Iterator[tuple[float, Tick]]) -> Iterator[tuple[float, MarketEvent]]:
    """Drop the schedule (offset 0): measure the publishing path, not the clock."""
    for _, event in events:
        yield 0.0, event


def measure(label: str, bus_url: str, n: int, table: Table) -> None:
    bus = open_bus(bus_url)
    try:
        bare_count, bare_s = _timed(lambda: bare_produce(bus, n))
        bare_rate = bare_count / bare_s
        table.add_row(label, "bare produce (pre-encoded)", f"{bare_count:,}", f"{bare_rate:,.0f}", "1.00")
        paths: list[tuple[str, Callable[[Bus, int], int]]] = [
            ("synthetic feed", synthetic_feed),
            ("synthetic feed, deliveries untracked", synthetic_untracked),
            ("replay feed (bundled bars)", replay_feed),
        ]
        for name, work in paths:
            count, seconds = _timed(lambda work=work: work(bus, n))  # type: ignore[misc]
            rate = count / seconds
            table.add_row(label, name, f"{count:,}", f"{rate:,.0f}", f"{rate / bare_rate:.2f}")
    finally:
        bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--no-kafka", action="store_true", help="skip the Tansu rows")
    args = parser.parse_args()
    n = args.events
    table = Table(title=f"feed throughput, {n:,} events per row (unpaced)")
    for column in ("bus", "path", "events", "events/s", "vs bare"):
        table.add_column(column, justify="left" if column in {"bus", "path"} else "right")
    count, seconds = _timed(lambda: generate_only(n))
    table.add_row("-", "generate only (no encode, no bus)", f"{count:,}", f"{count / seconds:,.0f}", "")
    measure("memory", f"memory://bench-{uuid.uuid4().hex}", n, table)
    if not args.no_kafka:
        from livecore.testing.servers import tansu_broker

        with tansu_broker() as server:
            measure("tansu", server.url, n, table)
    Console().print(table)


if __name__ == "__main__":
    main()
