"""Bus throughput, measured against the bare client in the same run.

Starts a private Tansu broker (``livecore.testing.servers``), fills a topic with encoded
``Tick`` messages, then reads it back with (a) a bare confluent-kafka consumer
plus msgspec decode and (b) ``KafkaBus`` ``poll`` plus the same decode, each in
a fresh group, alternating rounds and keeping each path's best round. Produce
rates are measured the same way (bare producer vs ``KafkaBus.publish``). The
in-process ``MemoryBus`` is measured too. Consumer timings start at the first
record received, so group joins are not counted.

    .venv/bin/python bench/bench_bus.py [--messages 200000] [--partitions 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import Producer as RdProducer
from rich.console import Console
from rich.table import Table

from livecore.adapters.kafka_bus import KafkaBus
from livecore.adapters.memory_bus import MemoryBus
from livecore.ports.bus import Bus, ConsumerSettings
from livecore.testing.servers import tansu_broker
from livecore.wire.codec import encode, market_events
from livecore.wire.messages import Tick

SETTINGS = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750)
SYMBOLS = 2000


@dataclass(frozen=True)
class Result:
    path: str
    messages: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_us(self) -> float:
        """CPU of this process (librdkafka threads included) per message, in µs."""
        return self.cpu_seconds / self.messages * 1e6


def make_ticks(count: int) -> list[tuple[bytes, bytes]]:
    """(key, payload) pairs: encoded ticks over SYMBOLS symbols."""
    out = []
    for i in range(count):
        symbol = f"SYM{i % SYMBOLS:04d}"
        tick = Tick(symbol=symbol, ts_ns=1_700_000_000_000_000_000 + i, price=Decimal("100.25"), size=Decimal(3))
        out.append((symbol.encode(), encode(tick)))
    return out


def best(results: list[Result]) -> Result:
    return min(results, key=lambda r: r.seconds)


# --- Kafka ----------------------------------------------------------------------


def bare_produce(bootstrap: str, topic: str, ticks: list[tuple[bytes, bytes]]) -> Result:
    producer = RdProducer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    start, cpu = time.perf_counter(), time.process_time()
    for key, value in ticks:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.01)
    if producer.flush(60):
        raise RuntimeError("bare producer did not deliver everything")
    return Result("bare confluent-kafka produce", len(ticks), time.perf_counter() - start, time.process_time() - cpu)


def bus_produce(bus: Bus, topic: str, ticks: list[tuple[bytes, bytes]]) -> Result:
    producer = bus.producer()
    start, cpu = time.perf_counter(), time.process_time()
    for key, value in ticks:
        producer.publish(topic, key, value)
    producer.flush(60)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    producer.close()
    return Result(f"{type(bus).__name__}.publish", len(ticks), elapsed, cpu)


def bare_consume(bootstrap: str, topic: str, count: int) -> Result:
    consumer = RdConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-bare-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": SETTINGS.session_timeout_ms,
            "heartbeat.interval.ms": SETTINGS.heartbeat_interval_ms,
            "fetch.wait.max.ms": SETTINGS.fetch_wait_max_ms,
        }
    )
    consumer.subscribe([topic])
    decode = market_events.decode
    seen = 0
    start = cpu = 0.0
    while seen < count:
        messages: list[Any] = consumer.consume(500, 1.0)  # stubs make value() optional
        if messages and not start:
            start, cpu = time.perf_counter(), time.process_time()
        for message in messages:
            if message.error() is None:
                decode(message.value())
                seen += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    consumer.close()
    return Result("bare confluent-kafka consume + decode", count, elapsed, cpu)


def bus_consume(bus: Bus, topic: str, count: int, label: str) -> Result:
    consumer = bus.consumer(f"bench-bus-{uuid.uuid4().hex}", [topic], "earliest", SETTINGS)
    decode = market_events.decode
    seen = 0
    start = cpu = 0.0
    while seen < count:
        records = consumer.poll(500, 1.0)
        if records and not start:
            start, cpu = time.perf_counter(), time.process_time()
        for record in records:
            decode(record.value)
        seen += len(records)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    consumer.close()
    return Result(label, count, elapsed, cpu)


def run_kafka(count: int, partitions: int, rounds: int, ticks: list[tuple[bytes, bytes]]) -> list[Result]:
    with tansu_broker() as server:
        bus = KafkaBus(server.url)
        bootstrap = bus.settings.bootstrap
        topic = f"bench-ticks-{uuid.uuid4().hex[:8]}"
        spare = f"bench-spare-{uuid.uuid4().hex[:8]}"
        bus.create_topics({topic: partitions, spare: partitions})
        produce_bare = [bare_produce(bootstrap, topic, ticks)]
        produce_bus = [bus_produce(bus, spare, ticks)]
        consume_bare: list[Result] = []
        consume_bus: list[Result] = []
        for _ in range(rounds):
            consume_bare.append(bare_consume(bootstrap, topic, count))
            consume_bus.append(bus_consume(bus, topic, count, "KafkaBus.poll + decode"))
        bus.close()
    return [best(produce_bare), best(produce_bus), best(consume_bare), best(consume_bus)]


# --- memory ---------------------------------------------------------------------


def run_memory(count: int, partitions: int, ticks: list[tuple[bytes, bytes]]) -> list[Result]:
    bus = MemoryBus()
    bus.create_topics({"ticks": partitions})
    produced = bus_produce(bus, "ticks", ticks)
    consumed = bus_consume(bus, "ticks", count, "MemoryBus.poll + decode")
    return [produced, consumed]


def show(results: list[Result], title: str) -> None:
    by_path: dict[str, Result] = {r.path: r for r in results}
    baselines = {
        "KafkaBus.publish": "bare confluent-kafka produce",
        "KafkaBus.poll + decode": "bare confluent-kafka consume + decode",
    }
    table = Table(title=title)
    for column in ("path", "messages", "seconds", "msg/s", "vs bare", "CPU µs/msg"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for result in results:
        base = by_path.get(baselines.get(result.path, ""))
        ratio = f"{result.rate / base.rate:.2f}" if base else ""
        table.add_row(
            result.path,
            f"{result.messages:,}",
            f"{result.seconds:.3f}",
            f"{result.rate:,.0f}",
            ratio,
            f"{result.cpu_us:.2f}",
        )
    Console(width=120).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ticks = make_ticks(args.messages)
    results = run_kafka(args.messages, args.partitions, args.rounds, ticks)
    results += run_memory(args.messages, args.partitions, ticks)
    show(results, f"bus throughput, {args.messages:,} ticks, {args.partitions} partitions (best of rounds)")


if __name__ == "__main__":
    main()
