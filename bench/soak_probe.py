"""Look inside an embedded system during a soak: what the in-process bus holds
and how many Python objects exist, minute by minute.

``bench_soak.py`` sees only RSS from outside. This starts ``LiveCore`` in this
process (memory bus and coordination, SQLite in a temporary directory, the same
trading portfolios) and prints every minute the RSS and, per topic, the records
and bytes the bus retains (read under the bus lock); at the end, the change in
garbage-collector-tracked objects by type between ``--compare-from`` and the
end. Growth in RSS with flat bus bytes and flat object counts lies outside the
Python heap (C libraries, allocator).

    .venv/bin/python bench/soak_probe.py [--minutes 10] [--compare-from 4] [--rate 300]
"""

from __future__ import annotations

import argparse
import gc
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
from bench_soak import write_specs

from livecore.adapters.memory_bus import MemoryBus
from livecore.config import DeploymentSettings
from livecore.livecore import LiveCore, LiveCoreConfig, SyntheticPlan

MIB = 1024 * 1024


def object_counts() -> Counter[str]:
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects())


def bus_contents(bus: MemoryBus) -> dict[str, tuple[int, int]]:
    """Topic -> (records, KiB) the bus retains now."""
    with bus._cond:
        return {
            name: (sum(len(log) for log in topic.logs), sum(log.bytes for log in topic.logs) // 1024)
            for name, topic in bus._topics.items()
            if any(len(log) for log in topic.logs)
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--compare-from", type=int, default=4, help="minute of the first object count")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--portfolios", type=int, default=10)
    parser.add_argument("--closed-orders", type=int, default=100)
    parser.add_argument("--fill-ids", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="livecore-soak-probe-"))
    write_specs(workdir / "specs", args)
    url = f"memory://probe-{workdir.name}"
    settings = DeploymentSettings(bus_url=url, coord_url=url, db_url=f"sqlite:///{workdir}/state.db", secret="probe")
    feed = SyntheticPlan(symbols=args.symbols, rate=args.rate)
    core = LiveCore(settings, LiveCoreConfig(nodes=2, portfolio_files=(workdir / "specs",), feed=feed))
    core.start()
    bus, process = MemoryBus.named(url), psutil.Process()
    first: Counter[str] | None = None
    try:
        for minute in range(1, args.minutes + 1):
            time.sleep(60)
            print(f"min {minute}: RSS {process.memory_info().rss / MIB:.1f} MiB, bus {bus_contents(bus)}", flush=True)
            if minute == args.compare_from:
                first = object_counts()
        last = object_counts()
    finally:
        core.stop()
    if first is not None:
        change = last.copy()
        change.subtract(first)
        print(f"tracked objects: {sum(first.values())} at minute {args.compare_from}, {sum(last.values())} at the end")
        print("largest changes:", [(name, n) for name, n in change.most_common(10) if n])


if __name__ == "__main__":
    main()
