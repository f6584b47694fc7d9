"""The node's per-event path without its threads: poll -> route -> run every processor.

One thread drives what the node's market thread and workers do for a backlog:
the memory bus's assigned consumer is polled in batches, each batch goes
through ``MarketDataLoop.route`` to real ``PortfolioProcessor``s (real domain
portfolios, 200 over 2,000 symbols by default), and every processor scheduled
by it runs ``run_batch`` at once. Orders and snapshots go to a host that drops
them. The events are published first; only the consuming part is timed (CPU)
and, under callgrind, counted: it runs inside ``functools.reduce``, so

    valgrind --tool=callgrind --toggle-collect=functools_reduce \\
        .venv/bin/python bench/bench_node_path.py --events 20000 --runs 1

counts the instructions of that part alone (divide by ``--events``): the
figure the machine's load does not move (docs/RESULTS.md, "Node throughput
and latency").

    .venv/bin/python bench/bench_node_path.py [--strategy idle|ma_crossover] [--events 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import collections
import functools
import time
from decimal import Decimal
from typing import Any

from livecore.adapters.memory_bus import MemoryBus
from livecore.node.factory import DomainPortfolios
from livecore.node.interest import InterestMap
from livecore.node.loop import LoopSettings
from livecore.node.market import MarketDataLoop
from livecore.node.processor import PortfolioProcessor
from livecore.node.table import HostedPortfolios
from livecore.ports.bus import AssignedConsumer, Record
from livecore.testing.strategies import spec_toml
from livecore.wire.codec import encode
from livecore.wire.messages import Tick

STRATEGIES = {"idle": ("livecore.testing.strategies:Idle", ""), "ma_crossover": ("ma_crossover", "fast = 3, slow = 8")}
TOPIC, PARTITIONS, WORKER_BATCH = "market.data", 8, 200


class DroppingHost:
    """A processor host that keeps the ready queue and drops everything else."""

    def __init__(self) -> None:
        self.ready: collections.deque[PortfolioProcessor] = collections.deque()

    def schedule(self, processor: PortfolioProcessor) -> None:
        self.ready.append(processor)

    def send_orders(self, *_: Any) -> None: ...
    def save_snapshot(self, *_: Any) -> bool:
        return True

    def record_equity(self, *_: Any) -> None: ...
    def tickets_done(self, *_: Any) -> None: ...
    def defer_snapshot(self, *_: Any) -> None: ...
    def universe_changed(self, *_: Any) -> None: ...


class NoLetters:
    def send(self, record: Record, reason: str) -> None:
        raise AssertionError(reason)


def market_loop(args: argparse.Namespace, host: DroppingHost) -> MarketDataLoop:
    """The node's market loop over ``args.portfolios`` real portfolios (disjoint symbols)."""
    factory, interest, table = DomainPortfolios(), InterestMap(), HostedPortfolios(node_id="bench")
    strategy, params = STRATEGIES[args.strategy]
    for index in range(args.portfolios):
        symbols = [f"S{s:05d}" for s in range(index, args.symbols, args.portfolios)]
        portfolio = factory.create(
            factory.parse(spec_toml(f"p{index}", symbols, strategy, params), "bench"), 1, "bench"
        )
        processor = PortfolioProcessor(portfolio=portfolio, host=host, mailbox_size=10**7, feedback_mailbox_size=100)
        table.add(processor)
        interest.set(processor.portfolio_id, symbols)
    return MarketDataLoop(
        consumer_factory=lambda: None,  # type: ignore[arg-type,return-value]
        should_run=lambda: True,
        settings=LoopSettings(poll_batch=args.batch, poll_timeout_s=0.1),
        interest=interest,
        portfolios=table,
        dead_letters=NoLetters(),  # type: ignore[arg-type]
        service=lambda: None,
        max_age_s=None,
    )


def consume(loop: MarketDataLoop, consumer: AssignedConsumer, host: DroppingHost, events: int) -> None:
    """What the market thread and the workers do, on this thread: the timed part."""
    done, ready = 0, host.ready
    while done < events:
        records = loop.poll(consumer)
        done += len(records)
        loop.handle(consumer, records)
        while ready:
            processor = ready.popleft()
            if processor.run_batch(WORKER_BATCH):
                ready.append(processor)


def run_once(args: argparse.Namespace, bus: MemoryBus, loop: MarketDataLoop, host: DroppingHost) -> float:
    """Publish ``args.events`` ticks, consume them; CPU us per event of the consuming part."""
    consumer = bus.assigned_consumer(TOPIC)
    consumer.assign(range(PARTITIONS))
    producer, now = bus.producer(), time.time_ns()
    prices = [Decimal(100) + Decimal(i % 17) / 4 for i in range(64)]
    for i in range(args.events):
        symbol = f"S{i % args.symbols:05d}"
        producer.publish(TOPIC, symbol, encode(Tick(symbol=symbol, ts_ns=now + i, price=prices[i % 64])))
    started = time.process_time()
    functools.reduce(lambda _, __: consume(loop, consumer, host, args.events), [None], None)
    cpu = time.process_time() - started
    consumer.close()
    return cpu / args.events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="idle")
    parser.add_argument("--portfolios", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    host = DroppingHost()
    loop = market_loop(args, host)
    bus = MemoryBus(f"memory://bench-node-path?partitions={PARTITIONS}")
    bus.create_topics({TOPIC: PARTITIONS})
    runs = [run_once(args, bus, loop, host) for _ in range(args.runs)]
    print(f"{args.strategy}: CPU us/event {', '.join(f'{r:.2f}' for r in runs)}; best {min(runs):.2f}")


if __name__ == "__main__":
    main()
