"""Does ``livecore run`` fail over its own live nodes when its process stalls?

Starts the embedded system (``LiveCore``: two nodes, the scheduler, the paper
gateway, the bundled replay feed, the example portfolios; in-process bus and
coordination, a SQLite file) in a child process, waits until every portfolio
runs, then freezes the whole child with SIGSTOP for ``--stall`` seconds (what a
long GC pause or a starved process looks like from the inside: every thread
stops, the monotonic clock goes on, in-process TTLs run out) and resumes it
with SIGCONT. After ``--after`` seconds the child stops and reports the
``failover`` audit entries, the portfolios whose epoch changed, and the stalls
its scheduler noticed.

Two configurations: ``before`` (heartbeat 1 s / TTL 3 s, no stall grace: the
old embedded defaults) and ``after`` (the current ``LiveCoreConfig`` defaults).

    .venv/bin/python bench/bench_embedded_stall.py [--stall 5 --stall 10] [--rounds 3] [--after 15]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = ("before", "after")


def child(mode: str, db: str) -> None:
    """Run LiveCore until a line arrives on stdin; print what happened as JSON."""
    import dataclasses
    import logging
    import uuid

    from livecore.config import DeploymentSettings
    from livecore.livecore import LiveCore, LiveCoreConfig

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = LiveCoreConfig()
    if mode == "before":
        config = dataclasses.replace(
            config,
            node=dataclasses.replace(config.node, heartbeat_ttl=3.0),
            scheduler=dataclasses.replace(config.scheduler, stall_grace=0.0),
        )
    name = uuid.uuid4().hex
    settings = DeploymentSettings(bus_url=f"memory://{name}", coord_url=f"memory://{name}", db_url=db)
    core = LiveCore(settings, config)
    core.start()
    store = core._store
    assert store is not None and core.scheduler is not None
    epochs = {e.portfolio_id: e.epoch for e in store.registry.list()}
    print("READY", flush=True)
    sys.stdin.readline()
    after = {e.portfolio_id: e.epoch for e in store.registry.list()}
    failovers = len(store.audit.recent(limit=10_000, event="failover"))
    result = {
        "mode": mode,
        "portfolios": len(epochs),
        "failovers": failovers,
        "epoch_changed": sorted(pid for pid, epoch in after.items() if epoch != epochs.get(pid)),
        "stalls_noticed": core.scheduler.stalls,
        "nodes_running": sum(1 for n in core.status().nodes if n.alive),
    }
    core.stop()
    print(json.dumps(result), flush=True)


def run_one(mode: str, stall: float, after: float, workdir: Path) -> dict[str, object]:
    workdir.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{workdir / f'{mode}-{stall}.db'}"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, "--db", db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"child did not start: {line!r}")
        time.sleep(3.0)  # trading
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(stall)
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(after)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        result: dict[str, object] = json.loads(proc.stdout.readline())
        proc.wait(60)
        return result
    finally:
        if proc.poll() is None:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", choices=CONFIGS)
    parser.add_argument("--db")
    parser.add_argument("--stall", type=float, action="append")
    parser.add_argument("--after", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs per configuration and stall")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db)
        return
    stalls = args.stall or [5.0, 10.0]
    header = f"{'config':8} {'stall s':>8} {'round':>5} {'portfolios':>10} {'failovers':>9}"
    print(f"{header} {'epochs moved':>12} {'stalls seen':>11}")
    with tempfile.TemporaryDirectory(prefix="lc-stall-") as tmp:
        for stall in stalls:
            for round_ in range(1, args.rounds + 1):
                for mode in CONFIGS:
                    r = run_one(mode, stall, args.after, Path(tmp) / f"r{round_}")
                    moved = r["epoch_changed"]
                    assert isinstance(moved, list)
                    print(
                        f"{mode:8} {stall:8.1f} {round_:>5} {r['portfolios']!s:>10} {r['failovers']!s:>9} "
                        f"{len(moved):>12} {r['stalls_noticed']!s:>11}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
