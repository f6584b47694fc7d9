"""Look inside an embedded system during a soak: what the in-process bus holds
and how many Python objects exist, minute by minute.

``bench_soak.py`` sees only RSS from outside. This starts ``LiveCore`` in this
process (memory bus and coordination, SQLite in a temporary directory, the same
trading portfolios) and prints every minute the RSS and, per topic, the records
and bytes the bus retains (read under the bus lock); at the end, the change in
garbage-collector-tracked objects by type between ``--compare-from`` and the
end. Growth in RSS with flat bus bytes and flat object counts lies outside the
Python heap (C libraries, allocator): each line also gives the kernel's split
(anonymous, file-backed), glibc's allocator (in use, held free), SQLite's own
allocator, the thread count and the SQLite connections open; ``--tracemalloc``
diffs Python allocations by line between ``--compare-from`` and the end. At the
end, ``malloc_trim`` shows how much of RSS was freed memory the allocator held.

    .venv/bin/python bench/soak_probe.py [--minutes 10] [--compare-from 4] [--rate 300] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import gc
import logging
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import psutil
from _native_mem import malloc_figures, malloc_trim, smaps_rollup, sqlite_figures
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


def memory_line(process: psutil.Process, db_path: Path) -> str:
    """RSS and where it lives (MiB), threads and open SQLite connections."""
    smaps = smaps_rollup()
    malloc, sqlite = malloc_figures(), sqlite_figures()
    connections = sum(1 for f in process.open_files() if f.path == str(db_path))
    traced = tracemalloc.get_traced_memory()[0] / MIB if tracemalloc.is_tracing() else 0.0
    return (
        f"RSS {process.memory_info().rss / MIB:.1f} (anon {smaps.get('Anonymous', 0):.1f}, "
        f"file {smaps.get('Rss_File', smaps.get('Rss', 0) - smaps.get('Anonymous', 0)):.1f}), "
        f"malloc in use {malloc.get('in_use', 0):.1f} free {malloc.get('free', 0):.1f} "
        f"mmapped {malloc.get('mmapped', 0):.1f}, sqlite {sqlite.get('used', 0):.1f}, "
        f"traced {traced:.1f}, threads {process.num_threads()}, db connections {connections}"
    )


def print_trace_diff(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot) -> None:
    """The 15 source lines whose live Python allocations grew most."""
    for stat in last.compare_to(first, "lineno")[:15]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--compare-from", type=int, default=4, help="minute of the first object count")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--portfolios", type=int, default=10)
    parser.add_argument("--closed-orders", type=int, default=100)
    parser.add_argument("--fill-ids", type=int, default=200)
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations (slower)")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start(1)
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="livecore-soak-probe-"))
    write_specs(workdir / "specs", args)
    url = f"memory://probe-{workdir.name}"
    db_path = workdir / "state.db"
    settings = DeploymentSettings(bus_url=url, coord_url=url, db_url=f"sqlite:///{db_path}", secret="probe")
    feed = SyntheticPlan(symbols=args.symbols, rate=args.rate)
    core = LiveCore(settings, LiveCoreConfig(nodes=2, portfolio_files=(workdir / "specs",), feed=feed))
    core.start()
    bus, process = MemoryBus.named(url), psutil.Process()
    first: Counter[str] | None = None
    first_trace: tracemalloc.Snapshot | None = None
    try:
        for minute in range(1, args.minutes + 1):
            time.sleep(60)
            print(f"min {minute}: {memory_line(process, db_path)}; bus {bus_contents(bus)}", flush=True)
            if minute == args.compare_from:
                first = object_counts()
                first_trace = tracemalloc.take_snapshot() if args.tracemalloc else None
        last = object_counts()
        last_trace = tracemalloc.take_snapshot() if args.tracemalloc else None
        trimmed = malloc_trim()
        print(f"after malloc_trim ({'released' if trimmed else 'nothing released'}): {memory_line(process, db_path)}")
    finally:
        core.stop()
    if first_trace is not None and last_trace is not None:
        print(f"Python allocations that grew most between minute {args.compare_from} and the end:")
        print_trace_diff(first_trace, last_trace)
    if first is not None:
        change = last.copy()
        change.subtract(first)
        print(f"tracked objects: {sum(first.values())} at minute {args.compare_from}, {sum(last.values())} at the end")
        print("largest changes:", [(name, n) for name, n in change.most_common(10) if n])


if __name__ == "__main__":
    main()
