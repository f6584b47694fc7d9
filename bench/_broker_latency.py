"""Round trips through a broker, measured from outside: the tick's publish to the
arrival of what answers it, for ``bench_node.py``.

The same publisher and the same reader serve every pass, so only the middle
differs: nothing (one hop: produce -> consume), a bare relay (two hops, what a
node does at the least: produce tick -> consume -> produce order -> consume), or
the node itself (tick -> node -> order). On the in-process bus they are the
bus's own producer and assigned consumer; on Kafka plain confluent-kafka
clients (no livecore code): a producer with ``linger.ms=0`` (idempotent,
``acks=all``, like the node's) and a consumer assigned to every partition at
its end with ``fetch.wait.max.ms`` as the node's market consumer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from livecore.ports.bus import Bus
from livecore.wire.codec import encode
from livecore.wire.messages import Tick
from livecore.wire.partitioning import market_partition

FETCH_WAIT_MS = 5  # NodeConfig.market_fetch_wait_ms
READ_SLICE_S = 0.01
WARMUP = 50  # symbols sent first, one at a time, not counted


class Sender:
    """Publishes keyed records, each at the partition the wire's partitioner gives."""

    def __init__(self, bus: Bus, bootstrap: str | None) -> None:
        self._bus_producer = bus.producer(linger_ms=0) if bootstrap is None else None
        self._rd: Any = None
        if bootstrap is not None:
            from confluent_kafka import Producer as RdProducer

            self._rd = RdProducer(
                {"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": True, "acks": "all"}
            )

    def send(self, topic: str, key: str, value: bytes, partition: int) -> None:
        if self._rd is not None:
            self._rd.produce(topic, value, key.encode(), partition=partition)
            self._rd.poll(0)
        else:
            assert self._bus_producer is not None
            self._bus_producer.publish(topic, key, value, partition=partition)
            self._bus_producer.poll(0)

    def close(self) -> None:
        if self._rd is not None:
            self._rd.flush(10)
        elif self._bus_producer is not None:
            self._bus_producer.close()


class Reader:
    """Reads every partition of ``topic`` from its end as of now."""

    def __init__(self, bus: Bus, bootstrap: str | None, topic: str) -> None:
        partitions = bus.partition_count(topic)
        self._rd: Any = None
        self._consumer: Any = None
        if bootstrap is None:
            self._consumer = bus.assigned_consumer(topic)
            self._consumer.assign(range(partitions))
            return
        from confluent_kafka import Consumer as RdConsumer
        from confluent_kafka import TopicPartition as RdPartition

        self._rd = RdConsumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": FETCH_WAIT_MS,
            }
        )
        wanted = []
        for p in range(partitions):
            _, high = self._rd.get_watermark_offsets(RdPartition(topic, p), timeout=10)
            wanted.append(RdPartition(topic, p, high))
        self._rd.assign(wanted)

    def read(self) -> list[bytes]:
        if self._rd is not None:
            return [m.value() for m in self._rd.consume(500, READ_SLICE_S) if m.error() is None]
        return [r.value for r in self._consumer.poll(500, READ_SLICE_S)]

    def close(self) -> None:
        (self._rd or self._consumer).close()


@dataclass
class Pass:
    """One paced pass: when each tick left (by symbol) and how long until its answer."""

    sent: dict[str, int] = field(default_factory=dict)
    rtt_ns: list[int] = field(default_factory=list)
    stray: int = 0

    def quantiles(self) -> tuple[float | None, float | None]:
        """p50 and p99 in microseconds (nearest rank)."""
        if not self.rtt_ns:
            return None, None
        ordered = sorted(self.rtt_ns)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000  # noqa: E731
        return pick(0.5), pick(0.99)


def paced_pass(
    *,
    bus: Bus,
    bootstrap: str | None,
    market_topic: str,
    answer_topic: str,
    symbols: Sequence[str],
    rate: float,
    symbol_of: Callable[[bytes], str],
    warmup: int = WARMUP,
    wait_s: float = 30.0,
) -> Pass:
    """Publish one tick per symbol at ``rate`` to ``market_topic`` and time each
    answer on ``answer_topic`` (``symbol_of`` names the tick an answer is for). The
    first ``warmup`` symbols go one at a time, each once the previous was answered,
    and are not counted: a new Kafka client's first messages wait ~0.5 s for its
    producer id and first fetch (measured on Tansu), which is no steady-state figure."""
    partitions = bus.partition_count(market_topic)
    result = Pass()
    reader = Reader(bus, bootstrap, answer_topic)
    done = threading.Event()

    def receive() -> None:
        while not done.is_set():
            for value in reader.read():
                now = time.perf_counter_ns()
                started = result.sent.get(symbol_of(value))
                if started is None:
                    result.stray += 1
                else:
                    result.rtt_ns.append(now - started)
            if len(result.rtt_ns) >= len(symbols):
                return

    thread = threading.Thread(target=receive, name="bench-receiver", daemon=True)
    thread.start()
    sender = Sender(bus, bootstrap)
    for count, symbol in enumerate(symbols[:warmup], start=1):
        _send(sender, market_topic, symbol, partitions, result)
        deadline = time.monotonic() + wait_s
        while len(result.rtt_ns) < count and time.monotonic() < deadline:
            time.sleep(0.001)
    result.sent.clear()
    result.rtt_ns.clear()
    symbols = symbols[warmup:]
    interval, started = 1.0 / rate, time.perf_counter()
    for i, symbol in enumerate(symbols):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        _send(sender, market_topic, symbol, partitions, result)
    thread.join(wait_s)
    done.set()
    thread.join(5)
    sender.close()
    reader.close()
    return result


def _send(sender: Sender, topic: str, symbol: str, partitions: int, result: Pass) -> None:
    payload = encode(Tick(symbol=symbol, ts_ns=time.time_ns(), price=Decimal(100)))
    result.sent[symbol] = time.perf_counter_ns()
    sender.send(topic, symbol, payload, market_partition(symbol, partitions))


class Relay:
    """The bare two-hop middle: consume each record of ``source`` and publish its bytes
    to ``target`` at once (what a node does per tick, without a portfolio)."""

    def __init__(self, bus: Bus, bootstrap: str | None, source: str, target: str) -> None:
        self._reader = Reader(bus, bootstrap, source)
        self._sender = Sender(bus, bootstrap)
        self._target, self._partitions = target, bus.partition_count(target)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-relay", daemon=True)
        self.relayed = 0

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5)
        self._sender.close()
        self._reader.close()

    def _run(self) -> None:
        while not self._done.is_set():
            for value in self._reader.read():
                self._sender.send(self._target, "relay", value, self.relayed % self._partitions)
                self.relayed += 1
