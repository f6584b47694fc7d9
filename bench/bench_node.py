"""ExecutionNode throughput and in-node latency, against a bare consumer in the same run.

Rows:

- ``throughput``: N portfolios (disjoint symbol sets over S symbols, each tick
  routed to one portfolio), a real built-in strategy (``ma_crossover`` by
  default). After the node is running and every portfolio is loaded, E ticks
  are published as fast as possible; the rate is E / (first publish -> last
  event applied by its portfolio). Mailboxes are sized so nothing conflates.
- ``bare consume+decode``: a fresh consumer group reads the same topic from
  the start and decodes every message (``MemoryBus`` consumer on the memory
  bus, confluent-kafka directly on Tansu): the ceiling the node is compared to.
- ``latency``: ticks paced at a modest rate to portfolios whose strategy
  orders on every tick; in-node tick-to-order latency (record polled ->
  order handed to the producer), p50/p99 from the node's histogram
  (``livecore.node.latency``: interpolated within its buckets).

Runs on the in-process bus, and on a Tansu broker started for the run unless
``--no-kafka``; ``--thousand`` adds a 1,000-portfolio throughput row. Prints a
table; asserts nothing.

    .venv/bin/python bench/bench_node.py [--portfolios 200] [--symbols 2000] [--events 100000]
        [--workers 4] [--strategy ma_crossover] [--no-kafka] [--thousand]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from _broker_latency import Pass, Relay, paced_pass
from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.node import ExecutionNode, NodeConfig
from livecore.ports.bus import (
    AssignedConsumer,
    Bus,
    Consumer,
    ConsumerSettings,
    OffsetReset,
    Producer,
    Record,
    TopicPartition,
)
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.testing.servers import tansu_broker
from livecore.testing.strategies import spec_toml
from livecore.topology import ensure_topics
from livecore.wire.codec import encode, market_events, order_requests
from livecore.wire.messages import Tick
from livecore.wire.names import MARKET_DATA, Topics

CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750, fetch_wait_max_ms=10)
SECRET = "bench-secret"
WAIT_S = 600.0
SWITCH_INTERVAL_S: list[float | None] = [None]  # set from --switch-interval-ms
BARE_READS = 3
STRATEGIES = {"idle": "livecore.testing.strategies:Idle", "ma_crossover": "ma_crossover"}


class GatedConsumer(Consumer):
    """Holds market data back (paused, membership kept) until ``gate`` is set, so the
    whole backlog can be published before the node reads any of it."""

    def __init__(self, inner: Consumer, gate: threading.Event) -> None:
        self._inner, self._gate, self._paused = inner, gate, False

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        if not self._gate.is_set():
            if not self._paused:
                self._inner.pause()
                self._paused = True
        elif self._paused:
            self._inner.resume()
            self._paused = False
        return self._inner.poll(max_records, timeout)

    def commit(self, records: Iterable[Record] | None = None) -> None:
        self._inner.commit(records)

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        return self._inner.committed(partitions)

    def assignment(self) -> set[TopicPartition]:
        return self._inner.assignment()

    def pause(self) -> None:
        self._inner.pause()

    def resume(self) -> None:
        self._inner.resume()

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._inner.seek(partition, offset)

    def close(self) -> None:
        self._inner.close()


class GatedAssignedConsumer(GatedConsumer, AssignedConsumer):
    """The node's market consumer (explicit partitions), held back the same way."""

    def __init__(self, inner: AssignedConsumer, gate: threading.Event) -> None:
        super().__init__(inner, gate)
        self._assigned, self.topic = inner, inner.topic

    def assign(self, partitions: Collection[int]) -> None:
        self._assigned.assign(partitions)

    def wakeup(self) -> None:
        self._assigned.wakeup()


class GatedBus(Bus):
    def __init__(self, inner: Bus, gate: threading.Event) -> None:
        self._inner, self._gate, self.url = inner, gate, inner.url

    def create_topics(self, topics: Mapping[str, int]) -> None:
        self._inner.create_topics(topics)

    def producer(self, linger_ms: int | None = None) -> Producer:
        return self._inner.producer(linger_ms)

    def consumer(
        self,
        group_id: str,
        topics: Sequence[str],
        offset_reset: OffsetReset = "latest",
        settings: ConsumerSettings | None = None,
    ) -> Consumer:
        consumer = self._inner.consumer(group_id, topics, offset_reset, settings)
        if any(topic.endswith(MARKET_DATA) for topic in topics):
            return GatedConsumer(consumer, self._gate)
        return consumer

    def assigned_consumer(self, topic: str, settings: ConsumerSettings | None = None) -> AssignedConsumer:
        return GatedAssignedConsumer(self._inner.assigned_consumer(topic, settings), self._gate)

    def partition_count(self, topic: str) -> int:
        return self._inner.partition_count(topic)

    def ping(self, timeout: float = 5.0) -> None:
        self._inner.ping(timeout)

    def close(self) -> None:
        self._inner.close()


@dataclass
class Row:
    backend: str
    what: str
    portfolios: int
    events: int
    seconds: float
    cpu_seconds: float = 0.0
    p50_us: float | None = None
    p99_us: float | None = None
    note: str = ""
    group: str = ""  # a node row and the bare row measured beside it share one

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Env:
    backend: str
    bus: Bus
    coord: Coordination
    store: Store
    kafka_bootstrap: str | None = None


@contextlib.contextmanager
def environment(backend: str, kafka_url: str | None) -> Iterator[Env]:
    with tempfile.TemporaryDirectory(prefix="bench-node-") as tmp:
        bus_url = f"memory://{uuid.uuid4().hex}" if kafka_url is None else kafka_url
        bus = open_bus(bus_url)
        coord = open_coordination(f"memory://{uuid.uuid4().hex}")
        store = open_store(f"sqlite:///{tmp}/bench.db")
        bootstrap = kafka_url.split("://", 1)[1].split("?", 1)[0] if kafka_url else None
        try:
            yield Env(backend, bus, coord, store, bootstrap)
        finally:
            store.close()
            coord.close()
            bus.close()


def symbols_of(index: int, portfolios: int, symbols: int) -> list[str]:
    """Disjoint universes: portfolio i trades symbols i, i + N, i + 2N, ..."""
    return [f"S{s:05d}" for s in range(index, symbols, portfolios)]


def start_node(
    env: Env, prefix: str, portfolios: int, workers: int, gate: threading.Event | None = None, **overrides: object
) -> ExecutionNode:
    values: dict[str, object] = {
        "heartbeat_interval": 1.0,
        "heartbeat_ttl": 5.0,
        "topic_prefix": prefix,
        "consumer": CONSUMER,
        "capacity": max(portfolios, 1000),
        "workers": workers,
        "poll_batch": 2000,
        "snapshot_interval_s": 3600.0,
        "loop_stall_s": 120.0,
        "gil_switch_interval_s": SWITCH_INTERVAL_S[0],
    }
    values.update(overrides)
    bus = env.bus if gate is None else GatedBus(env.bus, gate)
    node = ExecutionNode("bench", bus=bus, coord=env.coord, store=env.store, config=NodeConfig(**values), secret=SECRET)  # type: ignore[arg-type]
    node.start()
    deadline = time.monotonic() + 60
    while not node.ready:
        if time.monotonic() > deadline:
            raise RuntimeError("node not ready within 60 s")
        time.sleep(0.05)
    return node


def load(node: ExecutionNode, portfolios: int, symbols: int, strategy: str, params: str) -> float:
    """Load directly (``load_portfolio``, what the command handler calls); ids are new per run."""
    run = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    for index in range(portfolios):
        pid = f"b{run}-{index:04d}"
        node.load_portfolio(pid, 1, spec_toml(pid, symbols_of(index, portfolios, symbols), strategy, params))
    return time.perf_counter() - started


def applied(node: ExecutionNode) -> int:
    return sum(p.market_applied for p in node.portfolios.processors())


def throughput(
    env: Env, portfolios: int, symbols: int, events: int, workers: int, strategy: str, label: str, round_: int
) -> list[Row]:
    prefix = f"b{uuid.uuid4().hex[:6]}."
    topics = Topics(prefix)
    ensure_topics(env.bus, topics)
    gate = threading.Event()
    node = start_node(
        env,
        prefix,
        portfolios,
        workers,
        gate,
        mailbox_size=events + 1,
        feedback_mailbox_size=1000,
        max_tick_age_s=None,
    )
    params = "fast = 3, slow = 8" if strategy == "ma_crossover" else ""
    load_s = load(node, portfolios, symbols, strategy, params)
    now = time.time_ns()
    prices = [Decimal(100) + Decimal(i % 17) / 4 for i in range(64)]
    producer = env.bus.producer()
    publish_started = time.perf_counter()
    for i in range(events):
        symbol = f"S{i % symbols:05d}"
        producer.publish(topics.market_data, symbol, encode(Tick(symbol=symbol, ts_ns=now + i, price=prices[i % 64])))
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(60)
    published = time.perf_counter() - publish_started
    cpu0 = time.process_time()
    started = time.perf_counter()
    gate.set()
    deadline = time.monotonic() + WAIT_S
    while applied(node) + node.dropped_event_count < events:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {applied(node)} of {events} events applied")
        time.sleep(0.002)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    orders = node.status()["orders"]
    conflated = node.dropped_event_count
    node.stop()
    producer.close()
    rows = [
        Row(
            env.backend,
            f"node throughput ({label})",
            portfolios,
            events,
            seconds,
            cpu,
            note=f"load {load_s:.1f}s, backlog {published:.1f}s, {orders} orders, {conflated} conflated",
            group=f"{label} #{round_}",
        )
    ]
    rows.append(bare(env, topics.market_data, events, portfolios))
    rows[-1].group = rows[0].group
    return rows


def bare(env: Env, topic: str, events: int, portfolios: int) -> Row:
    """The fastest of ``BARE_READS`` reads of the same topic (on a loaded machine one
    read may get little CPU: the best is the bare ceiling, the ratio is conservative)."""
    rows = [_bare_read(env, topic, events, portfolios) for _ in range(BARE_READS)]
    best = min(rows, key=lambda row: row.seconds)
    best.note = f"best of {BARE_READS} reads: " + ", ".join(f"{row.rate:,.0f}" for row in rows)
    return best


def _bare_read(env: Env, topic: str, events: int, portfolios: int) -> Row:
    """A fresh group reads the topic from the start and decodes every record."""
    decode = market_events.decode
    cpu0 = time.process_time()
    count, first = 0, 0.0
    if env.kafka_bootstrap is None:
        consumer = env.bus.consumer(f"bare-{uuid.uuid4().hex}", [topic], "earliest", CONSUMER)
        while count < events:
            for record in consumer.poll(2000, 1.0):
                if not count:
                    first = time.perf_counter()
                decode(record.value)
                count += 1
        consumer.close()
    else:
        from confluent_kafka import Consumer as RdConsumer

        rd = RdConsumer(
            {
                "bootstrap.servers": env.kafka_bootstrap,
                "group.id": f"bare-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 3000,
                "heartbeat.interval.ms": 750,
                "fetch.wait.max.ms": 10,
            }
        )
        rd.subscribe([topic])
        while count < events:
            for message in rd.consume(2000, 1.0):
                if message.error() is not None:
                    continue
                if not count:
                    first = time.perf_counter()
                decode(message.value() or b"")
                count += 1
        rd.close()
    seconds = time.perf_counter() - first
    return Row(env.backend, "bare consume+decode", portfolios, count, seconds, time.process_time() - cpu0)


def latency(env: Env, portfolios: int, symbols: int, rate: float, workers: int) -> list[Row]:
    """Paced ticks, each on a symbol not seen before, to ``BuyOnce`` portfolios (every
    tick makes one order; no fills, so order books stay small), timed from the tick's
    publish to its order's arrival on ``orders``; beside it, on the same bus, the same
    pass through nothing (one hop) and through a bare relay (two hops)."""
    prefix = f"l{uuid.uuid4().hex[:6]}."
    topics = Topics(prefix)
    ensure_topics(env.bus, topics)
    names = [f"S{(i * 7919) % symbols:05d}" if symbols % 7919 else f"S{i:05d}" for i in range(symbols)]
    relay_in, relay_out = f"{prefix}relay.in", f"{prefix}relay.out"
    count = env.bus.partition_count(topics.market_data)
    env.bus.create_topics({relay_in: count, relay_out: count})
    common = {"bus": env.bus, "bootstrap": env.kafka_bootstrap, "symbols": names, "rate": rate}
    tick_symbol = lambda value: market_events.decode(value).symbol  # noqa: E731
    one_hop = paced_pass(market_topic=relay_in, answer_topic=relay_in, symbol_of=tick_symbol, **common)
    with Relay(env.bus, env.kafka_bootstrap, relay_in, relay_out):
        two_hop = paced_pass(market_topic=relay_in, answer_topic=relay_out, symbol_of=tick_symbol, **common)
    node = start_node(env, prefix, portfolios, workers)
    load(node, portfolios, symbols, "livecore.testing.strategies:BuyOnce", "")
    node.latency.reset()
    order_symbol = lambda value: getattr(order_requests.decode(value), "symbol", "")  # noqa: E731
    through = paced_pass(market_topic=topics.market_data, answer_topic=topics.orders, symbol_of=order_symbol, **common)
    inner = node.latency.quantile(0.5), node.latency.quantile(0.99)
    node.stop()
    what = f"@ {rate:.0f}/s"
    rows = [
        _rtt_row(env, f"bare produce->consume (one hop) {what}", portfolios, one_hop),
        _rtt_row(env, f"bare two-hop relay {what}", portfolios, two_hop),
        _rtt_row(env, f"tick->order through the node {what}", portfolios, through),
    ]
    p50, p99 = (None if q is None else q * 1e6 for q in inner)
    rows.append(
        Row(
            env.backend,
            "  in the node (poll -> order handed over)",
            portfolios,
            len(through.rtt_ns),
            0.0,
            0.0,
            p50,
            p99,
        )
    )
    return rows


def _rtt_row(env: Env, what: str, portfolios: int, measured: Pass) -> Row:
    p50, p99 = measured.quantiles()
    note = (
        f"{len(measured.sent) - len(measured.rtt_ns)} unanswered" if len(measured.rtt_ns) < len(measured.sent) else ""
    )
    return Row(env.backend, what, portfolios, len(measured.rtt_ns), 0.0, 0.0, p50, p99, note)


def run(env: Env, args: argparse.Namespace, console: Console) -> list[Row]:
    rows: list[Row] = []
    for round_ in range(1, args.rounds + 1):
        for strategy in args.strategies:
            name = STRATEGIES.get(strategy, strategy)
            console.print(
                f"[{env.backend}] round {round_}: {strategy}, {args.portfolios} portfolios ...", highlight=False
            )
            rows += throughput(env, args.portfolios, args.symbols, args.events, args.workers, name, strategy, round_)
        if args.latency:
            console.print(f"[{env.backend}] round {round_}: latency ...", highlight=False)
            rows += latency(env, args.portfolios, args.symbols, args.latency_rate, args.workers)
    if args.thousand:
        console.print(f"[{env.backend}] throughput with 1000 portfolios ...", highlight=False)
        strategy = args.strategies[-1]
        rows += throughput(
            env, 1000, args.symbols, args.events, args.workers, STRATEGIES.get(strategy, strategy), strategy, 0
        )[:1]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portfolios", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--strategies", default="idle,ma_crossover", help="comma-separated: idle, ma_crossover or module:Class"
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement (node and bare) N times")
    parser.add_argument("--latency-rate", type=float, default=2000.0)
    parser.add_argument("--no-latency", dest="latency", action="store_false")
    parser.add_argument(
        "--switch-interval-ms", type=float, default=0.0, help="NodeConfig.gil_switch_interval_s in ms (0: default)"
    )
    parser.add_argument("--no-kafka", dest="kafka", action="store_false")
    parser.add_argument("--thousand", action="store_true", help="add a 1,000-portfolio throughput row")
    args = parser.parse_args()
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    logging.basicConfig(level=logging.WARNING)
    if args.switch_interval_ms > 0:
        SWITCH_INTERVAL_S[0] = args.switch_interval_ms / 1000
    console = Console(width=220)
    rows: list[Row] = []
    with environment("memory", None) as env:
        rows += run(env, args, console)
    if args.kafka:
        with tansu_broker() as broker, environment("tansu", broker.url) as env:
            rows += run(env, args, console)
    console.print(table_of(rows))
    summarize(rows, console)


def table_of(rows: list[Row]) -> Table:
    table = Table(title="ExecutionNode: one node, one process")
    columns = ("backend", "what", "portfolios", "events", "seconds", "events/s", "CPU us/event", "p50 us", "p99 us")
    for column in (*columns, "note"):
        table.add_column(column, justify="left" if column in ("backend", "what", "note") else "right")
    for row in rows:
        timed = row.seconds > 0
        cpu = f"{row.cpu_seconds / row.events * 1e6:.1f}" if row.cpu_seconds and row.events else "-"
        table.add_row(
            row.backend,
            row.what,
            str(row.portfolios),
            str(row.events),
            f"{row.seconds:.2f}" if timed else "-",
            f"{row.rate:,.0f}" if timed else "-",
            cpu,
            "-" if row.p50_us is None else f"{row.p50_us:,.0f}",
            "-" if row.p99_us is None else f"{row.p99_us:,.0f}",
            " ".join(part for part in (row.group, row.note) if part),
        )
    return table


def summarize(rows: list[Row], console: Console) -> None:
    """node / bare per measurement (same topic, same run), and the latency differences."""
    pairs: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        if row.group:
            pairs.setdefault((row.backend, row.group), {})["bare" if row.what.startswith("bare") else "node"] = row.rate
    for (backend, group), rates in pairs.items():
        if rates.get("node") and rates.get("bare"):
            console.print(f"{backend} {group}: node / bare = {rates['node'] / rates['bare']:.2f}", highlight=False)
    for backend in dict.fromkeys(row.backend for row in rows):
        for label in dict.fromkeys(group.split(" #")[0] for b, group in pairs if b == backend):
            ratios = sorted(
                r["node"] / r["bare"]
                for (b, group), r in pairs.items()
                if b == backend and group.split(" #")[0] == label and r.get("node") and r.get("bare")
            )
            if len(ratios) > 1:
                console.print(f"{backend} {label}: median node / bare {statistics.median(ratios):.2f}", highlight=False)
    for index, row in enumerate(rows):
        if row.what.startswith("tick->order through the node") and row.p99_us is not None:
            relay, hop = rows[index - 1], rows[index - 2]
            if relay.p99_us is not None and relay.p50_us is not None and row.p50_us is not None:
                console.print(
                    f"{row.backend}: node - bare two-hop relay: p50 {(row.p50_us - relay.p50_us) / 1000:+.2f} ms,"
                    f" p99 {(row.p99_us - relay.p99_us) / 1000:+.2f} ms"
                    + (f" (one hop p99 {hop.p99_us / 1000:.2f} ms)" if hop.p99_us is not None else ""),
                    highlight=False,
                )


if __name__ == "__main__":
    main()
