"""Cost of one tick -> order latency observation: the node's Prometheus histogram
(``livecore.node.latency.LatencyRecorder``) against the ring buffer it replaced
(kept below, as it was, as the baseline), in the same run.

Each round records ``--observations`` latencies spread over 20 us .. 20 ms
(log-uniform, precomputed) into a fresh recorder from one thread and reports
the thread's CPU ns per observation (steady on a loaded machine, where wall
time is mostly waiting for a core); the median and the best of ``--rounds``
rounds are printed, and the CPU cost of reading p50 + p99 once.

    .venv/bin/python bench/bench_latency.py [--observations 200000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from array import array
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from livecore.node.latency import LatencyRecorder


class RingRecorder:
    """The former recorder: a preallocated ring of 65,536 ns samples under a lock;
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    values = samples(args.observations)
    ring: list[float] = []
    histogram: list[float] = []
    for _ in range(args.rounds):  # interleaved, so both see the same machine
        old = RingRecorder()
        ring.append(per_observation(old.record, values))
        new = LatencyRecorder("bench", registry=CollectorRegistry())
        histogram.append(per_observation(new.record, values))
    ring_read = read_cost(lambda: (old.percentile(0.5), old.percentile(0.99)))
    histogram_read = read_cost(lambda: (new.quantile(0.5), new.quantile(0.99)))
    print(f"{args.observations:,} observations x {args.rounds} rounds, one thread")
    print("| recorder | CPU ns/observation, median | best | p50 + p99 read, CPU us |\n|---|---|---|---|")
    for name, costs, read in (("ring (before)", ring, ring_read), ("histogram (after)", histogram, histogram_read)):
        print(f"| {name} | {statistics.median(costs):.0f} | {min(costs):.0f} | {read:.0f} |")


if __name__ == "__main__":
    main()
