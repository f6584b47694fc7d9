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
from dataclasses import asdict, dataclass, field
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
    """Counts every call of a port, by method name: ``store.registry.list``,
    ``hset``, ``session.keep``; ``get_fences#keys`` counts the keys asked for."""

    _NESTED = ("snapshots", "journal", "registry", "audit", "equity")

    def __init__(self, inner: Any, counts: Counter[str], prefix: str = "") -> None:
        self._inner, self._counts, self._prefix = inner, counts, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name in self._NESTED:
            return Counting(value, self._counts, f"{self._prefix}{name}.")
        if not callable(value):
            return value
        counts, key = self._counts, self._prefix + name

        def call(*args: Any, **kwargs: Any) -> Any:
            counts[key] += 1
            if name == "get_fences":
                counts["get_fences#keys"] += len(args[0])
            result = value(*args, **kwargs)
            return Counting(result, counts, "session.") if name == "open_session" else result

        return call


# Redis commands one port call sends in its one round trip (MULTI/EXEC pairs included); 1 if absent
COMMANDS = {"hset": 4, "get_with_ttl": 4, "current_lease": 4, "session_states": 4}


@dataclass
class Cost:
    """Redis round trips and commands (SCANs apart), store reads and writes."""

    trips: float = 0.0
    commands: float = 0.0
    scans: float = 0.0
    reads: float = 0.0
    writes: float = 0.0

    def scaled(self, factor: float) -> Cost:
        return Cost(*(getattr(self, f) * factor for f in ("trips", "commands", "scans", "reads", "writes")))

    def minus(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f) - getattr(other, f) for f in ("trips", "commands", "scans", "reads", "writes")))

    def plus(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f) + getattr(other, f) for f in ("trips", "commands", "scans", "reads", "writes")))


STORE_WRITES = (".save", ".upsert", ".set_", ".record", ".delete")


def cost_of(counts: Counter[str]) -> Cost:
    out = Cost()
    for name, n in counts.items():
        if name.startswith("store."):
            if any(mark in name for mark in STORE_WRITES):
                out.writes += n
            else:
                out.reads += n
        elif name == "scan":
            out.scans += n
        elif name == "get_fences#keys":
            out.commands += n
        elif name == "get_fences":
            out.trips += n
        else:
            out.trips += n
            out.commands += n * COMMANDS.get(name.removeprefix("session."), 1)
    return out


def measure_node(hosted: int, seconds: float) -> tuple[Cost, float, dict[str, float]]:
    """Per heartbeat: the node's cost (store writes apart); store writes per dirty
    portfolio per snapshot interval; calls per beat by kind."""
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/node.db")
        coord = MemoryCoordination()
        config = NodeConfig(heartbeat_interval=0.5, heartbeat_ttl=5.0, snapshot_interval_s=1.0, max_tick_age_s=None)
        node = ExecutionNode(
            "n1", bus=bus, coord=Counting(coord, counts), store=Counting(store, counts, "store."), config=config,
            secret=SECRET,
        )  # type: ignore[arg-type]  # fmt: skip
        node.start()
        try:
            symbols = [f"S{i:04d}" for i in range(hosted)]
            for i, symbol in enumerate(symbols):
                node.load_portfolio(f"p{i}", 1, spec_toml(f"p{i}", [symbol], "livecore.testing.strategies:Idle"))
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
            counted = Counter(counts)
        finally:
            node.stop()
            store.close()
    total = cost_of(counted)
    snapshots = counted.get("store.snapshots.save", 0) / (elapsed / config.snapshot_interval_s) / hosted
    per_beat = Cost(total.trips / beats, total.commands / beats, total.scans / beats, total.reads / beats)
    by_kind = {k: v / beats for k, v in counted.items() if not k.startswith("store.")}
    return per_beat, snapshots, by_kind


def measure_tick(nodes: int, portfolios: int) -> tuple[Cost, dict[str, float]]:
    """One converged leader pass: its cost and its calls by kind."""
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
            sessions = [coord.open_session(node) for node in held]  # each node holds one, as live nodes do
            for (node, pids), session in zip(held.items(), sessions, strict=True):
                coord.set(names.heartbeat_key(node), now, ttl=600)
                metrics = NodeMetrics(
                    portfolios=pids, capacity=10_000, state="running", updated_at=now, session=session.token
                )
                coord.hset(names.metrics_key(node), metrics.to_hash(), ttl=600)
            channel = CommandChannel(bus.producer(), coord, CommandSigner(SECRET), names.Topics())
            config = SchedulerConfig(tick_interval=1.0, lease_ttl=30.0)
            index = SymbolIndex(reader=lambda text: frozenset())
            scheduler = Scheduler(config, Counting(coord, counts), Counting(store, counts, "store."), channel, index)  # type: ignore[arg-type]
            scheduler.tick()  # takes office
            counts.clear()
            scheduler.tick()
            counted = Counter(counts)
            scheduler.stop()
        finally:
            store.close()
    return cost_of(counted), {k: float(v) for k, v in counted.items()}


@dataclass
class Rates:
    node_base: Cost  # per heartbeat
    node_per_portfolio: Cost  # per heartbeat per hosted portfolio
    snapshot_per_dirty: float  # store writes per dirty portfolio per snapshot interval
    tick_base: Cost
    tick_per_node: Cost
    tick_per_portfolio: Cost
    node_kinds: dict[str, float] = field(default_factory=dict)
    tick_kinds: dict[str, float] = field(default_factory=dict)


def measure_rates(node_seconds: float) -> Rates:
    (beat_10, snapshots, kinds), (beat_40, _, _) = measure_node(10, node_seconds), measure_node(40, node_seconds)
    node_per_portfolio = beat_40.minus(beat_10).scaled(1 / 30)
    (a, tick_kinds), (b, _), (c, _) = measure_tick(10, 400), measure_tick(20, 400), measure_tick(10, 800)
    per_node, per_portfolio = b.minus(a).scaled(1 / 10), c.minus(a).scaled(1 / 400)
    return Rates(
        node_base=beat_10.minus(node_per_portfolio.scaled(10)),
        node_per_portfolio=node_per_portfolio,
        snapshot_per_dirty=snapshots,
        tick_base=a.minus(per_node.scaled(10)).minus(per_portfolio.scaled(400)),
        tick_per_node=per_node,
        tick_per_portfolio=per_portfolio,
        node_kinds=kinds,
        tick_kinds=tick_kinds,
    )


def keyspace(nodes: int, portfolios: int) -> int:
    """Keys a converged cluster keeps in Redis: per node its claim, heartbeat and
    metrics hash; per portfolio its fence and view; a few singletons."""
    return 3 * nodes + 2 * portfolios + 10


def ops_part(args: argparse.Namespace) -> dict[str, Any]:
    rates = measure_rates(args.node_seconds)
    node_defaults, scheduler_defaults = NodeConfig(), SchedulerConfig()
    keys = keyspace(args.nodes, args.portfolios)
    scan_trips = -(-keys // SCAN_COUNT)
    per_node = args.portfolios / args.nodes
    beat = rates.node_base.plus(rates.node_per_portfolio.scaled(per_node))  # one node's beat
    tick = rates.tick_base.plus(rates.tick_per_node.scaled(args.nodes)).plus(
        rates.tick_per_portfolio.scaled(args.portfolios)
    )
    scans = Cost(trips=tick.scans * scan_trips, commands=tick.scans * scan_trips)
    tick = tick.plus(scans)
    out: dict[str, Any] = {
        "node_per_beat": {"base": asdict(rates.node_base), "per_portfolio": asdict(rates.node_per_portfolio)},
        "node_calls_per_beat_10_portfolios": rates.node_kinds,
        "snapshot_writes_per_dirty_portfolio_per_interval": rates.snapshot_per_dirty,
        "tick": {
            "base": asdict(rates.tick_base),
            "per_node": asdict(rates.tick_per_node),
            "per_portfolio": asdict(rates.tick_per_portfolio),
        },
        "tick_calls_10_nodes_400_portfolios": rates.tick_kinds,
        "redis_keys": keys,
        "scan_round_trips_each": scan_trips,
        "tick_at_scale": asdict(tick),
        "registry_rows_read_per_tick": args.portfolios,
        "rates": [],
    }
    for interval in (node_defaults.heartbeat_interval, 1.0):
        beats = args.nodes / interval
        ticks = 1 / scheduler_defaults.tick_interval
        out["rates"].append(
            {
                "heartbeat_interval_s": interval,
                "redis_round_trips_per_s": beats * beat.trips + ticks * tick.trips,
                "redis_commands_per_s": beats * beat.commands + ticks * tick.commands,
                "redis_commands_per_s_nodes": beats * beat.commands,
                "redis_commands_per_s_scheduler": ticks * tick.commands,
                "postgres_writes_per_s": args.portfolios * rates.snapshot_per_dirty / node_defaults.snapshot_interval_s
                + beats * beat.writes,
                "postgres_reads_per_s": ticks * tick.reads + beats * beat.reads,
                "registry_rows_read_per_s": ticks * args.portfolios,
            }
        )
    return out


# --- output ---------------------------------------------------------------------------------


def show(args: argparse.Namespace, placements: list[dict[str, Any]], ops: dict[str, Any], console: Console) -> None:
    table = Table(title=f"placement: {args.nodes:,} nodes, {args.portfolios:,} portfolios "
                  f"({args.per_portfolio} of {args.symbols:,} symbols each), pure code")  # fmt: skip
    for header in ("partitions", "one batch s", f"passes of {PASS_BUDGET}: p50 / max s", "load min-max",
                   "partitions per portfolio", "partitions read per node: mean / max (dealt round robin)",
                   "steady pass: diff + candidates s", "failover: portfolios, plan s"):  # fmt: skip
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
    if not ops:
        return
    console.print_json(data={k: v for k, v in ops.items() if k != "rates"})
    rates = Table(title=f"backend operations per second, {args.nodes:,} nodes x {args.portfolios:,} portfolios")
    for header in ("node heartbeat", "Redis round trips/s", "Redis commands/s (nodes + scheduler)",
                   "PostgreSQL writes/s", "PostgreSQL reads/s (registry rows/s)"):  # fmt: skip
        rates.add_column(header)
    for r in ops["rates"]:
        rates.add_row(
            f"{r['heartbeat_interval_s']:g} s",
            f"{r['redis_round_trips_per_s']:,.0f}",
            f"{r['redis_commands_per_s']:,.0f} ({r['redis_commands_per_s_nodes']:,.0f} + "
            f"{r['redis_commands_per_s_scheduler']:,.0f})",
            f"{r['postgres_writes_per_s']:,.0f}",
            f"{r['postgres_reads_per_s']:,.0f} ({r['registry_rows_read_per_s']:,.0f})",
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
