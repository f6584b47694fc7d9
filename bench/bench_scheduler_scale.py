"""The scheduler at scale: its pure placement code over 1,000 nodes and 50,000
portfolios, and the Redis and PostgreSQL operations per second such a cluster
generates, from the code's own per-node and per-portfolio rates.

Part 1, placement (pure, in this process, no backend):

- a full deployment: ``placement.plan_placements`` of every portfolio onto
  empty nodes as one batch (what a scheduler starting on a populated registry
  plans), and the same in passes of ``max_commands_per_tick`` (500) as the
  leader carries it out; where it lands (partitions read per node, load spread);
- one steady pass: ``convergence.diff`` over the registry and the nodes'
  reports, ``actuator.build_candidates`` (symbols cached by spec, as in a
  running leader);
- a failover pass: a node's portfolios planned onto the 999 others.

Part 2, backend operations: the real node (``ExecutionNode``, heartbeat,
views, fence checks, snapshots) and the real ``Scheduler.tick`` run on the
in-process backends behind wrappers that count every call of the
Coordination and Store ports; small clusters of two sizes give the
per-node and per-portfolio counts, which are scaled to the target cluster at
the code's default rates (node heartbeat, scheduler tick, snapshot interval).
A Redis call is one round trip except ``scan`` (SCAN MATCH over the whole
keyspace, ``scan_count`` keys per round trip); a Store call is one database
transaction (a read or a write).

    .venv/bin/python bench/bench_scheduler_scale.py [--nodes 1000] [--portfolios 50000]
        [--symbols 5000] [--per-portfolio 5] [--partitions 8,64,1024] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_store
from livecore.adapters.memory_bus import MemoryBus
from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.adapters.redis_coordination import RedisSettings
from livecore.control.commands import CommandChannel
from livecore.control.metrics import NodeMetrics
from livecore.node import ExecutionNode, NodeConfig
from livecore.ports.coordination import Fence
from livecore.ports.store import RegistryEntry
from livecore.scheduler.actuator import build_candidates
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.convergence import diff
from livecore.scheduler.placement import Candidate, batch_order, plan_placements
from livecore.scheduler.service import Scheduler
from livecore.scheduler.specs import SymbolIndex
from livecore.testing.strategies import spec_toml
from livecore.wire import codec, names
from livecore.wire.messages import Tick
from livecore.wire.partitioning import market_partitions
from livecore.wire.signing import CommandSigner

SECRET = "bench-secret"
PASS_BUDGET = SchedulerConfig().max_commands_per_tick
SCAN_COUNT = RedisSettings().scan_count


# --- part 1: placement -----------------------------------------------------------------


@dataclass
class Workload:
    symbols: dict[str, frozenset[str]]  # portfolio -> symbols
    partitions: dict[str, frozenset[int]]  # portfolio -> market.data partitions
    spec: dict[str, str]  # portfolio -> spec text (symbols only: what SymbolIndex reads)


def workload(portfolios: int, symbols: int, per: int, partitions: int, seed: int = 1) -> Workload:
    rnd = random.Random(seed)
    names_ = [f"SYM{i:05d}" for i in range(symbols)]
    out = Workload({}, {}, {})
    for _ in range(portfolios):
        pid = f"pf-{rnd.getrandbits(48):012x}"
        chosen = frozenset(rnd.sample(names_, per))
        out.symbols[pid] = chosen
        out.partitions[pid] = market_partitions(chosen, partitions)
        out.spec[pid] = " ".join(sorted(chosen))
    return out


def timed(call: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def placement_part(args: argparse.Namespace, partitions: int) -> dict[str, Any]:
    nodes = [Candidate(f"node-{i:04d}", args.capacity) for i in range(args.nodes)]
    work = workload(args.portfolios, args.symbols, args.per_portfolio, partitions)
    one_batch_s, decisions = timed(lambda: plan_placements(work.symbols, nodes, 1, work.partitions))
    placed = dict(decisions)
    # the leader's way: passes of PASS_BUDGET against the mean of everything waiting
    by_id = {n.node_id: n for n in nodes}
    waiting = batch_order(work.symbols, work.partitions)  # as the leader orders a pass
    pass_times = []
    while waiting:
        batch = {pid: work.symbols[pid] for pid in waiting[:PASS_BUDGET]}
        pending = len(waiting)
        seconds, planned = timed(
            lambda batch=batch, pending=pending: plan_placements(batch, by_id.values(), 1, work.partitions, pending)
        )
        pass_times.append(seconds)
        for pid, node in planned:
            assert node is not None
            by_id[node] = by_id[node].with_portfolio(pid, work.symbols[pid], work.partitions[pid])
        done = {pid for pid, _ in planned}
        waiting = [pid for pid in waiting if pid not in done]
    loads = Counter(placed.values())
    read = [len(n.partitions) for n in by_id.values()]
    baseline = round_robin_reads(work, args.nodes)
    steady = steady_pass(args, work, placed, repeat=3)
    failover = failover_pass(work, by_id)
    return {
        "partitions": partitions,
        "one_batch_s": one_batch_s,
        "passes": len(pass_times),
        "pass_p50_s": statistics.median(pass_times),
        "pass_max_s": max(pass_times),
        "load_min": min(loads.values()),
        "load_max": max(loads.values()),
        "partitions_read_mean": statistics.mean(read),
        "partitions_read_max": max(read),
        "partitions_read_round_robin": baseline,
        "partitions_per_portfolio": statistics.mean(len(p) for p in work.partitions.values()),
        **steady,
        **failover,
    }


def round_robin_reads(work: Workload, nodes: int) -> float:
    """Partitions read per node, mean, when portfolios are dealt out with no affinity."""
    read: list[set[int]] = [set() for _ in range(nodes)]
    for i, pid in enumerate(sorted(work.partitions)):
        read[i % nodes] |= work.partitions[pid]
    return statistics.mean(len(r) for r in read)


def steady_pass(args: argparse.Namespace, work: Workload, placed: dict[str, str | None], repeat: int) -> dict[str, Any]:
    """diff + build_candidates of a leader whose cluster is converged."""
    entries = [
        RegistryEntry(pid, work.spec[pid], "running", node, 1, 0) for pid, node in placed.items() if node is not None
    ]
    by_id = {e.portfolio_id: e for e in entries}
    reported = {e.portfolio_id: {e.node_id: 1} for e in entries if e.node_id is not None}
    fences = {e.portfolio_id: Fence(1, e.node_id or "") for e in entries}
    alive = frozenset(f"node-{i:04d}" for i in range(args.nodes))
    index = SymbolIndex(reader=lambda text: frozenset(text.split()), market_partitions=1)
    nodes = {nid: (args.capacity, True) for nid in alive}
    build_candidates(nodes, reported, by_id, {}, index)  # warm the spec cache, as a running leader's is
    diff_s, plan = timed(lambda: diff(entries, reported, alive, fences, {}, 0.0, 10.0), repeat)
    assert not plan.place and not plan.load and len(plan.loaded) == len(entries)
    candidates_s, _ = timed(lambda: build_candidates(nodes, reported, by_id, {}, index), repeat)
    return {"diff_s": diff_s, "candidates_s": candidates_s}


def failover_pass(work: Workload, by_id: dict[str, Candidate]) -> dict[str, Any]:
    victim = max(by_id.values(), key=lambda n: (n.load, n.node_id))
    survivors = [n for nid, n in by_id.items() if nid != victim.node_id]
    lost = {pid: work.symbols[pid] for pid in victim.portfolios}
    seconds, _ = timed(lambda: plan_placements(lost, survivors, 1, work.partitions), 3)
    return {"failover_portfolios": len(lost), "failover_plan_s": seconds}


# --- part 2: operations per second ----------------------------------------------------------


class Counting:
    """Counts every call of a port, by method name (``registry.list``, ``hset``, ...)."""

    _NESTED = ("snapshots", "journal", "registry", "audit")

    def __init__(self, inner: Any, counts: Counter[str], prefix: str = "") -> None:
        self._inner, self._counts, self._prefix = inner, counts, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name in self._NESTED:
            return Counting(value, self._counts, f"{name}.")
        if not callable(value):
            return value
        counts, key = self._counts, self._prefix + name

        def call(*args: Any, **kwargs: Any) -> Any:
            counts[key] += 1
            return value(*args, **kwargs)

        return call


STORE_WRITES = ("snapshots.save", "registry.upsert", "registry.set_placement", "audit.record", "journal.")


def split_store(counts: Counter[str]) -> tuple[float, float]:
    """(reads, writes) among Store calls."""
    writes = sum(v for k, v in counts.items() if any(k.startswith(w) for w in STORE_WRITES))
    reads = sum(v for k, v in counts.items() if "." in k) - writes
    return reads, writes


@dataclass
class NodeRates:
    beat_base: float  # coordination round trips per heartbeat, node itself
    beat_per_portfolio: float  # ... per hosted portfolio
    snapshot_per_dirty: float  # store writes per dirty portfolio per snapshot interval
    detail: dict[str, float] = field(default_factory=dict)


def node_rates(hosted: list[int], seconds: float) -> NodeRates:
    """Run a real node with each count of portfolios; per beat and per snapshot."""
    samples = {k: measure_node(k, seconds) for k in hosted}
    (k1, (beat1, snap1, detail1)), (k2, (beat2, _, _)) = sorted(samples.items())[:2]
    per_portfolio = (beat2 - beat1) / (k2 - k1)
    return NodeRates(beat1 - per_portfolio * k1, per_portfolio, snap1, detail1)


def measure_node(hosted: int, seconds: float) -> tuple[float, float, dict[str, float]]:
    """(coordination calls per beat, store writes per dirty portfolio per snapshot, calls per beat by kind)."""
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/node.db")
        coord = MemoryCoordination()
        config = NodeConfig(heartbeat_interval=0.5, heartbeat_ttl=5.0, snapshot_interval_s=1.0, max_tick_age_s=None)
        node = ExecutionNode(
            "n1", bus=bus, coord=Counting(coord, counts), store=Counting(store, counts), config=config, secret=SECRET
        )  # type: ignore[arg-type]
        node.start()
        try:
            symbols = [f"S{i:04d}" for i in range(hosted)]
            for i, symbol in enumerate(symbols):
                text = spec_toml(f"p{i}", [symbol], "livecore.testing.strategies:Idle")
                node.load_portfolio(f"p{i}", 1, text)
            time.sleep(1.0)
            counts.clear()
            beats = node._heartbeat.beats if node._heartbeat else 0
            producer = bus.producer()
            stop = threading.Event()

            def ticks() -> None:  # every portfolio sees prices: each is dirty at every snapshot interval
                while not stop.is_set():
                    for symbol in symbols:
                        tick = Tick(symbol=symbol, ts_ns=time.time_ns(), price=Decimal("10"), size=Decimal(1))
                        producer.publish(names.Topics().market_data, symbol, codec.encode(tick))
                    stop.wait(0.1)

            feeder = threading.Thread(target=ticks, daemon=True)
            feeder.start()
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            beats = (node._heartbeat.beats if node._heartbeat else 0) - beats
            stop.set()
            feeder.join(5)
            snapshot = dict(counts)
        finally:
            node.stop()
            store.close()
    coordination = {k: v for k, v in snapshot.items() if "." not in k}
    per_beat = {k: v / beats for k, v in coordination.items()}
    snapshots = snapshot.get("snapshots.save", 0) / (elapsed / config.snapshot_interval_s) / hosted
    return sum(per_beat.values()), snapshots, per_beat


@dataclass
class SchedulerRates:
    base: float
    per_node: float
    per_portfolio: float
    store_reads: float  # per tick
    detail: dict[str, float] = field(default_factory=dict)


def scheduler_rates() -> SchedulerRates:
    sizes = [(10, 400), (20, 400), (10, 800)]
    calls = {size: measure_tick(*size) for size in sizes}
    (a, store_a, detail), (b, _, _), (c, _, _) = (calls[s] for s in sizes)
    per_node = (b - a) / 10
    per_portfolio = (c - a) / 400
    return SchedulerRates(a - 10 * per_node - 400 * per_portfolio, per_node, per_portfolio, store_a, detail)


def measure_tick(nodes: int, portfolios: int) -> tuple[float, float, dict[str, float]]:
    """Coordination calls (not counting SCAN's round trips) and store reads of one
    converged leader pass."""
    counts: Counter[str] = Counter()
    coord = MemoryCoordination()
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/sched.db")
        try:
            held: dict[str, dict[str, int]] = {f"n{i}": {} for i in range(nodes)}
            for i in range(portfolios):
                pid, node = f"p{i}", f"n{i % nodes}"
                store.registry.upsert(pid, f'id = "{pid}"\nsymbols = ["S{i}"]\n', "running", 1)
                store.registry.set_placement(pid, node, 1, 2)
                coord.advance_fence(names.portfolio_epoch_key(pid), 1, node)
                held[node][pid] = 1
            now = datetime.now(UTC).isoformat()
            for node, pids in held.items():
                coord.set(names.heartbeat_key(node), now, ttl=600)
                metrics = NodeMetrics(portfolios=pids, capacity=10_000, state="running", updated_at=now)
                coord.hset(names.metrics_key(node), metrics.to_hash(), ttl=600)
            channel = CommandChannel(bus.producer(), coord, CommandSigner(SECRET), names.Topics())
            config = SchedulerConfig(tick_interval=1.0, lease_ttl=30.0)
            index = SymbolIndex(reader=lambda text: frozenset())
            scheduler = Scheduler(config, Counting(coord, counts), Counting(store, counts), channel, index)  # type: ignore[arg-type]
            scheduler.tick()  # takes office
            counts.clear()
            scheduler.tick()
            counted = Counter(counts)
            scheduler.stop()
        finally:
            store.close()
    coordination = {k: float(v) for k, v in counted.items() if "." not in k}
    reads, _ = split_store(counted)
    return sum(coordination.values()), reads, coordination


def keyspace(nodes: int, portfolios: int, commands_per_s: float, ack_ttl_s: float) -> int:
    """Keys a cluster keeps in Redis: per node claim, heartbeat, metrics; per portfolio
    fence and view; command acks for their TTL; a few singletons."""
    return 3 * nodes + 2 * portfolios + int(commands_per_s * ack_ttl_s) + 10


def ops_part(args: argparse.Namespace) -> dict[str, Any]:
    node = node_rates([10, 40], args.node_seconds)
    sched = scheduler_rates()
    defaults, scheduler_defaults = NodeConfig(), SchedulerConfig()
    per_node_portfolios = args.portfolios / args.nodes
    keys = keyspace(args.nodes, args.portfolios, 0.0, defaults.command_ack_ttl_s)
    scans_per_tick = sched.detail.get("scan", 0.0)
    scan_round_trips = -(-keys // SCAN_COUNT)
    tick_round_trips = (
        sched.base
        + sched.per_node * args.nodes
        + sched.per_portfolio * args.portfolios
        + scans_per_tick * (scan_round_trips - 1)
    )
    out: dict[str, Any] = {
        "node_calls_per_beat": {"base": node.beat_base, "per_portfolio": node.beat_per_portfolio},
        "node_calls_per_beat_by_kind_10": node.detail,
        "snapshot_writes_per_dirty_portfolio_per_interval": node.snapshot_per_dirty,
        "scheduler_calls_per_tick": {
            "base": sched.base,
            "per_node": sched.per_node,
            "per_portfolio": sched.per_portfolio,
        },
        "scheduler_calls_per_tick_by_kind_10_400": sched.detail,
        "scheduler_store_reads_per_tick": sched.store_reads,
        "redis_keys": keys,
        "scan_round_trips_each": scan_round_trips,
        "scheduler_round_trips_per_tick": tick_round_trips,
        "rates": [],
    }
    for interval in (defaults.heartbeat_interval, 1.0):
        beats = args.nodes / interval
        node_rt = beats * (node.beat_base + node.beat_per_portfolio * per_node_portfolios)
        scheduler_rt = tick_round_trips / scheduler_defaults.tick_interval
        snapshots = args.portfolios * node.snapshot_per_dirty / defaults.snapshot_interval_s
        out["rates"].append(
            {
                "heartbeat_interval_s": interval,
                "redis_round_trips_per_s_nodes": node_rt,
                "redis_round_trips_per_s_scheduler": scheduler_rt,
                "postgres_writes_per_s_snapshots": snapshots,
                "postgres_reads_per_s_scheduler": sched.store_reads / scheduler_defaults.tick_interval,
            }
        )
    return out


# --- output ---------------------------------------------------------------------------------


def show(args: argparse.Namespace, placements: list[dict[str, Any]], ops: dict[str, Any], console: Console) -> None:
    table = Table(title=f"placement: {args.nodes:,} nodes, {args.portfolios:,} portfolios "
                  f"({args.per_portfolio} of {args.symbols:,} symbols each), pure code")  # fmt: skip
    for header in ("partitions", "one batch s", f"passes of {PASS_BUDGET}: p50 / max s", "load min-max",
                   "partitions per portfolio", "partitions read per node: mean / max (dealt round robin)",
                   "steady pass: diff + candidates s",
                   "failover: portfolios, plan s"):  # fmt: skip
        table.add_column(header)
    for p in placements:
        table.add_row(
            str(p["partitions"]),
            f"{p['one_batch_s']:.2f}",
            f"{p['passes']} x {p['pass_p50_s']:.3f} / {p['pass_max_s']:.3f}",
            f"{p['load_min']}-{p['load_max']}",
            f"{p['partitions_per_portfolio']:.2f}",
            f"{p['partitions_read_mean']:.1f} / {p['partitions_read_max']} ({p['partitions_read_round_robin']:.1f})",
            f"{p['diff_s']:.3f} + {p['candidates_s']:.3f}",
            f"{p['failover_portfolios']}, {p['failover_plan_s']:.4f}",
        )
    console.print(table)
    beat = ops["node_calls_per_beat"]
    kinds = ", ".join(f"{k} {v:.1f}" for k, v in sorted(ops["node_calls_per_beat_by_kind_10"].items()))
    console.print(
        f"node, per heartbeat: {beat['base']:.1f} + {beat['per_portfolio']:.2f} per portfolio coordination calls "
        f"({kinds} at 10); {ops['snapshot_writes_per_dirty_portfolio_per_interval']:.2f} snapshot writes "
        "per dirty portfolio per interval"
    )
    s = ops["scheduler_calls_per_tick"]
    kinds = ", ".join(f"{k} {v:.0f}" for k, v in sorted(ops["scheduler_calls_per_tick_by_kind_10_400"].items()))
    console.print(
        f"scheduler, per converged tick: {s['base']:.1f} + {s['per_node']:.2f} per node + {s['per_portfolio']:.3f} "
        f"per portfolio coordination calls ({kinds} at 10 nodes / 400 portfolios), "
        f"{ops['scheduler_store_reads_per_tick']:.0f} store reads; each SCAN walks {ops['redis_keys']:,} keys in "
        f"{ops['scan_round_trips_each']} round trips: {ops['scheduler_round_trips_per_tick']:,.0f} Redis round "
        "trips per tick"
    )
    rates = Table(title=f"backend operations per second, {args.nodes:,} nodes x {args.portfolios:,} portfolios")
    for header in ("node heartbeat", "Redis round trips/s: nodes", "scheduler", "PostgreSQL writes/s: snapshots",
                   "PostgreSQL reads/s: scheduler"):  # fmt: skip
        rates.add_column(header)
    for r in ops["rates"]:
        rates.add_row(
            f"{r['heartbeat_interval_s']:g} s",
            f"{r['redis_round_trips_per_s_nodes']:,.0f}",
            f"{r['redis_round_trips_per_s_scheduler']:,.0f}",
            f"{r['postgres_writes_per_s_snapshots']:,.0f}",
            f"{r['postgres_reads_per_s_scheduler']:,.0f}",
        )
    console.print(rates)


@contextmanager
def quiet_logs() -> Iterator[None]:
    import logging

    previous = logging.root.level
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        logging.root.setLevel(previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--portfolios", type=int, default=50_000)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--symbols", type=int, default=5000)
    parser.add_argument("--per-portfolio", type=int, default=5)
    parser.add_argument("--partitions", default="8,64,1024", help="market.data partition counts to place against")
    parser.add_argument("--node-seconds", type=float, default=6.0, help="how long each node sample runs")
    parser.add_argument("--skip-ops", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    console = Console(width=200)
    placements = []
    for count in (int(p) for p in args.partitions.split(",")):
        console.print(f"placing against {count} partitions ...")
        placements.append(placement_part(args, count))
    ops: dict[str, Any] = {}
    if not args.skip_ops:
        console.print("counting backend calls of a real node and scheduler ...")
        with quiet_logs():
            ops = ops_part(args)
        show(args, placements, ops, console)
    if args.json is not None:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, "placement": placements, "ops": ops},
                                        indent=2, default=str))  # fmt: skip


if __name__ == "__main__":
    main()
