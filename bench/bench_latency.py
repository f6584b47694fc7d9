"""Cost of the node's latency histograms, in the same run:

1. one observation, from one thread, into: the ring of 65,536 samples the node
   first had (kept below as it was), prometheus_client's ``Histogram`` (what
   ``livecore_tick_to_order_seconds`` was next), and ``LatencyRecorder`` as it
   is (``telemetry.Histogram``): locked (tick -> order, observed by the
   workers) and single-writer (event age, observed by the market loop alone);
   plus the CPU cost of reading p50 + p99 once;
2. what observing every event's age (and counting routed events) costs
   ``MarketDataLoop.route``: the loop as it is against the loop of
   ``--baseline`` (default: the last commit before both, loaded from git),
   200 portfolios over 2,000 symbols, stub processors that only count,
   encoded ticks in batches of ``--batch``.

Observations are ``--observations`` latencies spread over 20 us .. 20 ms
(log-uniform, precomputed); the thread's CPU ns per observation is reported
(steady on a loaded machine, where wall time is mostly waiting for a core).
Recorders and loops take turns in every round; median and best of
``--rounds`` rounds are printed. Asserts nothing.

    .venv/bin/python bench/bench_latency.py [--observations 200000] [--rounds 7] [--events 100000] [--batch 1000]
        [--baseline REF]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import tempfile
import threading
import time
from array import array
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

from livecore.node.interest import InterestMap
from livecore.node.latency import BUCKETS, LatencyRecorder
from livecore.node.loop import LoopSettings
from livecore.node.market import MarketDataLoop
from livecore.ports.bus import Record
from livecore.wire import codec
from livecore.wire.messages import Tick

PORTFOLIOS, SYMBOLS = 200, 2000
ROOT = Path(__file__).resolve().parents[1]
BEFORE_EVENT_AGE = "9de5f28"  # the last commit whose market loop neither observed event ages nor counted routed events


class RingRecorder:
    """The first recorder: a preallocated ring of 65,536 ns samples under a lock;
    percentiles sort the kept samples."""

    def __init__(self, size: int = 65_536) -> None:
        self._size = size
        self._samples = array("q", bytes(8 * size))
        self._kept = 0
        self._next = 0
        self._lock = threading.Lock()
        self.count = 0

    def record(self, nanos: int) -> None:
        with self._lock:
            self._samples[self._next] = nanos
            self._next = (self._next + 1) % self._size
            if self._kept < self._size:
                self._kept += 1
            self.count += 1

    def percentile(self, fraction: float) -> int | None:
        with self._lock:
            ordered = sorted(self._samples[: self._kept])
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class ClientHistogram:
    """The second: prometheus_client's labelled ``Histogram`` on the same buckets."""

    def __init__(self) -> None:
        family = Histogram("bench_seconds", "bench", ["node"], registry=CollectorRegistry(), buckets=BUCKETS)
        self._series = family.labels(node="bench")

    def record(self, nanos: int) -> None:
        self._series.observe(nanos / 1e9)

    def p50_p99(self) -> None:
        for metric in self._series.collect():  # what the former recorder read its quantiles from
            _ = [s for s in metric.samples if s.name.endswith("_bucket")]


def samples(count: int) -> list[int]:
    rng = random.Random(7)
    return [int(10 ** rng.uniform(4.3, 7.3)) for _ in range(count)]  # 20 us .. 20 ms in ns


def per_observation(record: Callable[[int], None], values: list[int]) -> float:
    started = time.thread_time_ns()
    for value in values:
        record(value)
    return (time.thread_time_ns() - started) / len(values)


def read_cost(read: Callable[[], object]) -> float:
    started = time.thread_time_ns()
    read()
    return (time.thread_time_ns() - started) / 1000


def recorders() -> list[tuple[str, Callable[[int], None], Callable[[], object]]]:
    """(name, record, read p50 + p99) of a fresh recorder of each kind."""
    ring, client = RingRecorder(), ClientHistogram()
    locked, alone = LatencyRecorder(), LatencyRecorder(single_writer=True)

    def quantiles(h: LatencyRecorder) -> Callable[[], object]:
        return lambda: (h.quantile(0.5), h.quantile(0.99))

    return [
        ("ring (first)", ring.record, lambda: (ring.percentile(0.5), ring.percentile(0.99))),
        ("prometheus_client Histogram (second)", client.record, client.p50_p99),
        ("LatencyRecorder, locked (tick -> order)", locked.record, quantiles(locked)),
        ("LatencyRecorder, single writer (event age)", alone.record, quantiles(alone)),
    ]


def observations(args: argparse.Namespace) -> None:
    values = samples(args.observations)
    costs: dict[str, list[float]] = {}
    reads: dict[str, float] = {}
    for _ in range(args.rounds):  # interleaved, so all see the same machine
        for name, record, read in recorders():
            costs.setdefault(name, []).append(per_observation(record, values))
            reads[name] = read_cost(read)
    print(f"{args.observations:,} observations x {args.rounds} rounds, one thread")
    print("| recorder | CPU ns/observation, median | best | p50 + p99 read, CPU us |\n|---|---|---|---|")
    for name, runs in costs.items():
        print(f"| {name} | {statistics.median(runs):.0f} | {min(runs):.0f} | {reads[name]:.0f} |")


class CountingProcessor:
    def __init__(self) -> None:
        self.events = 0

    def offer_market(self, slots: list[Any]) -> int:
        self.events += len(slots)
        return 0


class NoLetters:
    def send(self, record: Record, reason: str) -> None:
        raise AssertionError(reason)


def baseline_class(ref: str) -> type[MarketDataLoop]:
    """``MarketDataLoop`` as committed at ``ref``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:src/livecore/node/market.py"], check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_market.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("baseline_market", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MarketDataLoop  # type: ignore[no-any-return]


def market_loop(cls: type[MarketDataLoop]) -> MarketDataLoop:
    interest = InterestMap()
    processors: dict[str, CountingProcessor] = {}
    for p in range(PORTFOLIOS):
        pid = f"p{p}"
        interest.set(pid, [f"SYM{s:04d}" for s in range(p, SYMBOLS, PORTFOLIOS)])
        processors[pid] = CountingProcessor()
    return cls(
        consumer_factory=lambda: None,  # type: ignore[arg-type,return-value]
        should_run=lambda: True,
        settings=LoopSettings(poll_batch=1000, poll_timeout_s=0.1, policy=None, probe=lambda: True),  # type: ignore[arg-type]
        interest=interest,
        portfolios=processors,  # type: ignore[arg-type]
        dead_letters=NoLetters(),  # type: ignore[arg-type]
        service=lambda: None,
        max_age_s=3600.0,
    )


def routes(args: argparse.Namespace) -> None:
    now = time.time_ns()
    records = [
        Record("market.data", i % 8, i, None, codec.encode(Tick(symbol=f"SYM{i % SYMBOLS:04d}", ts_ns=now,
               price=Decimal("100.25"), size=Decimal(3))), 0)
        for i in range(args.events)
    ]  # fmt: skip
    batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
    cpu: dict[str, list[float]] = {}
    classes = (("route, as it is", MarketDataLoop), (f"route, {args.baseline}", baseline_class(args.baseline)))
    for _ in range(args.rounds):
        for name, cls in classes:
            loop = market_loop(cls)
            started = time.thread_time_ns()
            for batch in batches:
                loop.route(batch)
            cpu.setdefault(name, []).append((time.thread_time_ns() - started) / args.events)
    print(f"\nMarketDataLoop.route: {args.events:,} ticks in batches of {args.batch} x {args.rounds} rounds")
    print("| loop | CPU ns/event, median | best |\n|---|---|---|")
    for name, runs in cpu.items():
        print(f"| {name} | {statistics.median(runs):.0f} | {min(runs):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--baseline", default=BEFORE_EVENT_AGE)
    args = parser.parse_args()
    observations(args)
    routes(args)


if __name__ == "__main__":
    main()
