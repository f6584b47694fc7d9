"""Failover and planned-migration timings of the real distributed system.

Starts a private Tansu broker, redis-server and PostgreSQL database
(``livecore.testing.servers``) and the same cluster as the end-to-end test
(``livecore.testing.cluster``): three ``livecore node`` processes (1 s heartbeat,
3 s TTL), one scheduler, one gateway, one synthetic feed, twenty portfolios
trading on ticks. Then:

* **failover**, ``--rounds`` times: ``kill -9`` the node hosting the most
  portfolios, and for each of its portfolios measure, from the kill:
  the scheduler's failover decision (audit entry), the new owner's load (the
  stamp of its ``CommandAck``) and the first order at the new epoch in the
  gateway journal (received time). The killed node is restarted and the
  cluster rebalanced before the next round.
* **planned migration**, ``--migrations`` times (``ops.migrate``, what
  ``livecore portfolio migrate`` calls): the scheduler's trading gap (source's
  ack -> target's ack), the nodes' gap (the source takes the command off the
  bus and stops emitting, per its log -> the target's load ack), and from the journal the last order of the old epoch
  -> the first order of the new one, next to the portfolio's usual time
  between two orders (the journal gap cannot be shorter than the strategy's
  own pace).

Every process runs on this machine, so all timestamps share one wall clock.

    .venv/bin/python bench/bench_failover.py [--rounds 3] [--migrations 6] [--rate 200] [--tick 0.2]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_coordination, open_store
from livecore.ops import migrate
from livecore.ops.context import Ops
from livecore.ops.status import status
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.testing.cluster import Backends, Cluster, Timings, portfolio_id, read_journal, write_specs
from livecore.testing.servers import postgres_database, redis_server, tansu_broker, tansu_bus_url, wait_until
from livecore.wire import names
from livecore.wire.codec import command_acks

NODES = ("n1", "n2", "n3")
TIMEOUT = 60.0
FAILOVER_TARGET_S = 5.0
MIGRATION_TARGET_MS = 250.0


@dataclass(frozen=True)
class Failover:
    portfolio_id: str
    victim: str
    target: str
    detected_s: float  # kill -> scheduler's failover decision
    loaded_s: float  # kill -> new owner's ack of the load (restored, reconciled, trading)
    first_order_s: float  # kill -> first order of the new epoch received by the gateway


@dataclass(frozen=True)
class Migration:
    portfolio_id: str
    source: str
    target: str
    scheduler_gap_ms: float  # source's ack -> target's ack, as the leader saw them
    node_gap_ms: float  # source receives the command (stops emitting) -> target's load ack
    drain_ms: float  # of which: source receives the command -> source's ack (drained, snapshot saved)
    handover_ms: float  # source's ack -> target receives the load (leader: fence, registry, command)
    load_ms: float  # target receives the load -> target's ack (restore, reconcile, first snapshot)
    journal_gap_ms: float  # last old-epoch order -> first new-epoch order, gateway receive times
    usual_interval_ms: float  # median time between two orders of this portfolio before


class Bench:
    def __init__(self, cluster: Cluster, store: Store, coord: Coordination, portfolios: int) -> None:
        self.cluster = cluster
        self.store = store
        self.coord = coord
        self.ops = Ops(coord, store)
        self.pids = [portfolio_id(i) for i in range(portfolios)]

    # --- observation ----------------------------------------------------------------

    def placements(self) -> dict[str, tuple[str | None, int]]:
        return {e.portfolio_id: (e.node_id, e.epoch) for e in self.store.registry.list()}

    def settled(self, balanced: bool = True) -> bool:
        """Every portfolio running, no migration in flight (and, after a join, balanced)."""
        report = status(self.ops)
        running = sum(1 for p in report.portfolios if p.state == "running")
        loads = [sum(1 for node, _ in self.placements().values() if node == n) for n in NODES]
        spread_ok = not balanced or max(loads) - min(loads) <= 1
        return running == len(self.pids) and not report.migrations and spread_ok

    def first_order_ns(self, pid: str, node: str, epoch: int) -> int | None:
        orders = read_journal(self.store, pid).orders_at(epoch, node)
        return orders[0].received_ns if orders else None

    def acked_ns(self, command: str, pid: str, node: str, detail: str) -> int | None:
        """When ``node`` acknowledged ``command`` for ``pid`` (its CommandAck's stamp); the
        ack's detail must contain ``detail`` (e.g. the epoch)."""
        stamps = []
        for key in self.coord.scan(names.command_ack_key("")):
            raw = self.coord.get(key)
            if raw is None:
                continue
            ack = command_acks.decode(raw.encode())
            if (
                ack.command == command
                and ack.ok
                and ack.portfolio_id == pid
                and ack.node_id == node
                and detail in ack.detail
            ):
                stamps.append(ack.ts_ns)
        return min(stamps, default=None)

    def load_acked_ns(self, pid: str, node: str, epoch: int) -> int | None:
        return self.acked_ns("portfolio.load", pid, node, f"at epoch {epoch} ")

    def command_logged_ns(self, node: str, command: str, pid: str) -> int:
        """When ``node`` took ``command`` for ``pid`` off the bus (its log line; the
        node stops emitting orders for it from then on)."""
        marker = f"command {command} {pid} "
        lines = [line for line in self.cluster.procs[node].text().splitlines() if marker in line]
        if not lines:
            raise RuntimeError(f"{node} never logged {marker!r}")
        stamp = " ".join(lines[-1].split(" ", 2)[:2])  # logging's local "YYYY-MM-DD HH:MM:SS,mmm"
        return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1e9)

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        wait_until(condition, TIMEOUT, what, interval=0.01)

    # --- the scenario ------------------------------------------------------------------

    def start(self, symbols: int, rate: float, workdir: Path) -> None:
        self.cluster.gateway()
        self.cluster.scheduler()
        for node_id in NODES:
            self.cluster.node(node_id)
        self.cluster.feed(symbols, rate, seed=11)
        self.wait(lambda: all(self.coord.get(names.heartbeat_key(n)) for n in NODES), "three nodes")
        specs = write_specs(workdir / "specs", len(self.pids), symbols)
        deployed = self.cluster.cli(["portfolio", "deploy", *map(str, specs)])
        if deployed.returncode != 0:
            raise RuntimeError(deployed.stdout + deployed.stderr)
        self.wait(self.settled, "portfolios placed")
        self.wait(lambda: all(read_journal(self.store, p).orders for p in self.pids), "all portfolios trading")

    def failover(self) -> list[Failover]:
        placed = self.placements()
        victim = max(NODES, key=lambda n: (sum(1 for node, _ in placed.values() if node == n), n))
        lost = {pid: epoch for pid, (node, epoch) in placed.items() if node == victim}
        self.wait(lambda: all(self.first_order_ns(p, victim, e) for p, e in lost.items()), "victim trading")
        audit_mark = max((e.id for e in self.store.audit.recent(1)), default=0)
        killed_ns = time.time_ns()
        self.cluster.procs[victim].kill()

        def moved(pid: str) -> bool:
            node, epoch = self.placements()[pid]
            return node != victim and epoch > lost[pid] and self.first_order_ns(pid, node or "", epoch) is not None

        self.wait(lambda: all(moved(p) for p in lost), f"portfolios of {victim} trading again")
        decided = {
            e.detail["portfolio_id"]: e.ts_ns
            for e in self.store.audit.recent(500, event="failover")
            if e.id > audit_mark and e.detail.get("from") == victim
        }
        results = []
        placed_now = self.placements()
        for pid in sorted(lost):
            node, epoch = placed_now[pid]
            assert node is not None
            loaded = self.load_acked_ns(pid, node, epoch)
            first = self.first_order_ns(pid, node, epoch)
            assert first is not None and loaded is not None
            results.append(
                Failover(
                    portfolio_id=pid,
                    victim=victim,
                    target=node,
                    detected_s=(decided[pid] - killed_ns) / 1e9,
                    loaded_s=(loaded - killed_ns) / 1e9,
                    first_order_s=(first - killed_ns) / 1e9,
                )
            )
        # the victim comes back under its id (its claim expired with its heartbeat)
        self.wait(lambda: self.coord.get(names.node_claim_key(victim)) is None, "old claim expired")
        self.cluster.node(victim)
        self.wait(lambda: self.coord.get(names.heartbeat_key(victim)) is not None, f"{victim} back")
        self.wait(self.settled, "rebalanced")
        return results

    def migration(self, index: int) -> Migration:
        placed = self.placements()
        pid = self.pids[(index * 7) % len(self.pids)]
        source, epoch = placed[pid]
        assert source is not None
        target = NODES[(NODES.index(source) + 1) % len(NODES)]
        self.wait(lambda: len(read_journal(self.store, pid).orders_at(epoch, source)) >= 3, f"{pid} trading")
        result = migrate(self.ops, pid, target, timeout=TIMEOUT)
        if not result.ok or result.epoch is None or result.gap_ms is None:
            raise RuntimeError(f"migration of {pid} failed: {result}")
        new_epoch = result.epoch
        self.wait(lambda: self.first_order_ns(pid, target, new_epoch) is not None, f"{pid} trading on {target}")
        stopped = self.command_logged_ns(source, "portfolio.migrate", pid)
        released = self.acked_ns("portfolio.migrate", pid, source, f"at epoch {epoch} for {target}")
        told = self.command_logged_ns(target, "portfolio.load", pid)
        resumed = self.load_acked_ns(pid, target, new_epoch)
        assert resumed is not None and released is not None
        old_orders = read_journal(self.store, pid).orders_at(epoch, source)
        first = self.first_order_ns(pid, target, new_epoch)
        assert first is not None
        received = [o.received_ns for o in old_orders]
        intervals = [b - a for a, b in itertools.pairwise(received)]
        usual = statistics.median(intervals) / 1e6 if intervals else float("nan")
        self.wait(lambda: self.settled(balanced=False), "settled after the migration")
        return Migration(
            portfolio_id=pid,
            source=source,
            target=target,
            scheduler_gap_ms=result.gap_ms,
            node_gap_ms=(resumed - stopped) / 1e6,
            drain_ms=(released - stopped) / 1e6,
            handover_ms=(told - released) / 1e6,
            load_ms=(resumed - told) / 1e6,
            journal_gap_ms=(first - received[-1]) / 1e6,
            usual_interval_ms=usual,
        )


# --- report ------------------------------------------------------------------------------


def _summary(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def report(console: Console, failovers: list[Failover], migrations: list[Migration], args: argparse.Namespace) -> None:
    table = Table(title=f"Failover after kill -9 ({len(failovers)} portfolios, {args.rounds} kills)")
    for column in ("measure (from the kill)", "min s", "median s", "max s"):
        table.add_column(column, justify="right" if column != "measure (from the kill)" else "left")
    rows = [
        ("scheduler decides (heartbeat expired)", [f.detected_s for f in failovers]),
        ("new owner loaded (its load ack)", [f.loaded_s for f in failovers]),
        ("first order of the new epoch (journal)", [f.first_order_s for f in failovers]),
    ]
    for label, values in rows:
        low, mid, high = _summary(values)
        table.add_row(label, f"{low:.2f}", f"{mid:.2f}", f"{high:.2f}")
    console.print(table)

    table = Table(title=f"Planned migration ({len(migrations)} migrations)")
    for column in ("measure", "min ms", "median ms", "max ms"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    rows = [
        ("scheduler gap (source ack -> target ack)", [m.scheduler_gap_ms for m in migrations]),
        ("node gap (source stops -> target loaded)", [m.node_gap_ms for m in migrations]),
        ("  of which: source drains and acks", [m.drain_ms for m in migrations]),
        ("  of which: leader hands over", [m.handover_ms for m in migrations]),
        ("  of which: target loads and acks", [m.load_ms for m in migrations]),
        ("journal gap (last old order -> first new)", [m.journal_gap_ms for m in migrations]),
        ("usual time between two orders (before)", [m.usual_interval_ms for m in migrations]),
    ]
    for label, values in rows:
        low, mid, high = _summary(values)
        table.add_row(label, f"{low:.0f}", f"{mid:.0f}", f"{high:.0f}")
    console.print(table)

    worst_failover = max(f.first_order_s for f in failovers)
    worst_gap = max(max(m.scheduler_gap_ms, m.node_gap_ms) for m in migrations)
    console.print(
        f"failover target (< {FAILOVER_TARGET_S:g} s to trading again, 1 s heartbeat / 3 s TTL): "
        f"worst first order {worst_failover:.2f} s -> {'MET' if worst_failover < FAILOVER_TARGET_S else 'NOT MET'}"
    )
    console.print(
        f"migration target (gap < {MIGRATION_TARGET_MS:g} ms): worst scheduler/node gap {worst_gap:.0f} ms -> "
        f"{'MET' if worst_gap < MIGRATION_TARGET_MS else 'NOT MET'}"
    )
    if args.json:
        payload = {
            "failovers": [f.__dict__ for f in failovers],
            "migrations": [m.__dict__ for m in migrations],
            "args": vars(args),
        }
        Path(args.json).write_text(json.dumps(payload, indent=2))


@contextlib.contextmanager
def _servers() -> Iterator[tuple[str, str, str]]:
    with tansu_broker() as kafka, redis_server() as redis, postgres_database() as db:
        yield kafka.url, redis.url, db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="node kills")
    parser.add_argument("--migrations", type=int, default=6, help="planned migrations")
    parser.add_argument("--portfolios", type=int, default=20)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0, help="ticks per second, all symbols")
    parser.add_argument("--tick", type=float, default=0.2, help="scheduler pass interval, seconds")
    parser.add_argument("--json", default="", help="also write the raw samples to this file")
    parser.add_argument("--keep-logs", action="store_true", help="print where the process logs are")
    args = parser.parse_args()
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="livecore-bench-failover-"))
    timings = Timings(
        heartbeat_interval=1.0, heartbeat_ttl=3.0, scheduler_tick=args.tick, lease_ttl=max(2.0, 4 * args.tick)
    )
    with _servers() as (kafka_url, redis_url, db_url):
        backends = Backends(tansu_bus_url(kafka_url), redis_url, db_url, f"bf{uuid.uuid4().hex[:6]}.")
        store = open_store(db_url)
        coord = open_coordination(redis_url)
        try:
            with Cluster(backends, workdir, timings) as cluster:
                bench = Bench(cluster, store, coord, args.portfolios)
                try:
                    bench.start(args.symbols, args.rate, workdir)
                    failovers = [f for _ in range(args.rounds) for f in bench.failover()]
                    migrations = [bench.migration(i) for i in range(args.migrations)]
                except Exception:
                    console.print(cluster.logs(30), markup=False, highlight=False)
                    raise
        finally:
            store.close()
            coord.close()
    console.print(
        f"cluster: 3 nodes (heartbeat 1 s, TTL 3 s), scheduler tick {args.tick:g} s, {args.portfolios} portfolios, "
        f"{args.symbols} symbols at {args.rate:g} ticks/s; Tansu + redis-server + PostgreSQL on this machine"
    )
    report(console, failovers, migrations, args)
    if args.keep_logs:
        console.print(f"logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
