"""Failover and planned-migration timings of the real distributed system.

Starts a private Tansu broker, redis-server and PostgreSQL database
(``livecore.testing.servers``) and the same cluster as the end-to-end test
(``livecore.testing.cluster``): three ``livecore node`` processes (1 s heartbeat,
3 s TTL), one scheduler, one gateway, one synthetic feed, twenty portfolios
trading on ticks. By default they run ``livecore.testing.strategies:Probe``,
which orders on its first price after every start, so that the first order at
a new epoch shows when the new owner started trading rather than when a
signal happened to come (``--strategy signals``: the end-to-end test's
``ma_crossover``/``breakout`` mix, whose next signal comes 0.3-3 s later).
Then:

* **failover**, ``--rounds`` times: ``kill -9`` the node hosting the most
  portfolios, and for each of its portfolios measure, from the kill: the
  scheduler's first failover decision of that kill and this portfolio's
  (audit entries, with the rule that declared the node dead), the new owner
  taking the load off the bus (its log line), its load ack (the stamp of its
  ``CommandAck``) and the first order at the new epoch in the gateway journal
  (received time). The killed node is restarted and the cluster rebalanced
  before the next round.
* **stalls** (``--stall``, seconds, repeatable): SIGSTOP the busiest node for
  that long, then SIGCONT; every failover of its portfolios is listed with its
  reason and its time against the expiry of the node's heartbeat key (read just
  before the stop). A stall shorter than the TTL must fail nobody over.
* **Redis restart** (``--redis-restart kept|lost|none``): redis-server is
  restarted with its keys saved and loaded back (``kept``, a server with
  persistence) or killed and started empty (``lost``); every connection drops
  at once. Failovers after it are listed with their reasons; ``kept`` must fail
  nobody over.
* **planned migration**, ``--migrations`` times (``ops.migrate``, what
  ``livecore portfolio migrate`` calls): the scheduler's trading gap (source's
  ack -> target's ack), the nodes' gap (the source takes the command off the
  bus and stops emitting, per its log -> the target's load ack), and from the journal the last order of the old epoch
  -> the first order of the new one, next to the portfolio's usual time
  between two orders (the journal gap cannot be shorter than the strategy's
  own pace).

Every process runs on this machine, so all timestamps share one wall clock.

    .venv/bin/python bench/bench_failover.py [--rounds 10] [--stall 2 --stall 5] [--redis-restart kept]
        [--migrations 6] [--rate 200] [--tick 0.2] [--strategy probe|signals]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_coordination, open_store
from livecore.control.requests import read_status
from livecore.ops import migrate
from livecore.ops.context import Ops
from livecore.ops.status import status
from livecore.ports.coordination import Coordination, SessionState
from livecore.ports.store import AuditEntry, Store
from livecore.testing.cluster import Backends, Cluster, Timings, portfolio_id, read_journal, write_specs
from livecore.testing.servers import (
    ServerProcess,
    postgres_database,
    redis_server,
    restart_redis,
    tansu_broker,
    tansu_bus_url,
    wait_until,
)
from livecore.wire import names
from livecore.wire.codec import command_acks

NODES = ("n1", "n2", "n3")
TIMEOUT = 60.0
FAILOVER_TARGET_S = 1.0  # kill -9 -> first order at the new epoch, p99
MIGRATION_TARGET_MS = 250.0
HEARTBEAT_INTERVAL_S = 1.0
HEARTBEAT_TTL_S = 3.0


@dataclass(frozen=True)
class Failover:
    kill: int  # which kill of the run (1, 2, ...)
    portfolio_id: str
    victim: str
    target: str
    reason: str  # why the scheduler declared the victim dead (audit ``reason``)
    seen_s: float  # kill -> the scheduler saw the session closed (its log line; else its first decision)
    noticed_s: float  # kill -> the scheduler's first failover decision of this kill (audit)
    decided_s: float  # kill -> this portfolio's decision (audit; written once its load was sent)
    received_s: float  # kill -> the new owner takes the load off the bus (its log line)
    loaded_s: float  # kill -> the new owner's ack of the load (restored, reconciled, trading)
    first_tick_s: float  # kill -> the feed stamped the tick that made that order (its created_ns)
    first_order_s: float  # kill -> first order of the new epoch received by the gateway


@dataclass(frozen=True)
class StallRun:
    victim: str
    seconds: float  # SIGSTOP -> SIGCONT
    expiry_s: float  # SIGSTOP -> when the victim's heartbeat key was due to expire
    failovers: list[tuple[str, str, float]]  # (portfolio, reason, SIGSTOP -> decision in s)


@dataclass(frozen=True)
class RestartRun:
    keep_data: bool
    outage_s: float  # restart begun -> redis-server answers again
    sessions_back_s: float  # restart begun -> every node reports a new session, OPEN
    trading_s: float  # restart begun -> every portfolio has an order received after it
    failovers: list[tuple[str, str]]  # (portfolio, reason)
    placements_moved: int = 0  # portfolios whose node changed
    epochs_bumped: int = 0  # portfolios whose epoch changed (re-fenced on the same node or moved)


@dataclass(frozen=True)
class Migration:
    portfolio_id: str
    source: str
    target: str
    scheduler_gap_ms: float  # source's ack -> target's ack, as the leader saw them
    node_gap_ms: float  # source receives the command (stops emitting) -> target's load ack
    drain_ms: float  # of which: source receives the command -> source's ack (drained, snapshot saved)
    handover_ms: float  # source's ack -> target starts its load (the fence naming it, or the command)
    load_ms: float  # target starts its load -> target's ack (restore, reconcile, first snapshot)
    journal_gap_ms: float  # last old-epoch order -> first new-epoch order, gateway receive times
    usual_interval_ms: float  # median time between two orders of this portfolio before
    by_fence: bool  # the target started its load on reading the fence, before the command


@dataclass(frozen=True)
class Window:
    """The cluster's usual order path over one window of trading without faults."""

    end_s: float  # since trading began
    orders: int
    p50_s: float  # tick -> order received by the gateway
    p99_s: float


@dataclass
class Results:
    failovers: list[Failover] = field(default_factory=list)
    stalls: list[StallRun] = field(default_factory=list)
    restarts: list[RestartRun] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    tick_to_order: list[float] = field(default_factory=list)  # s, every order but the first of its epoch
    baseline: list[Window] = field(default_factory=list)


def _reason(entry: AuditEntry) -> str:
    """Why a failover's node counted as dead (its audit entry's ``reason``)."""
    return str(entry.detail.get("reason", "?"))


def _log_ns(line: str) -> int:
    """The stamp of a log line (logging's local ``YYYY-MM-DD HH:MM:SS,mmm``)."""
    stamp = " ".join(line.split(" ", 2)[:2])
    return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1e9)


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

    def busiest(self) -> tuple[str, dict[str, int]]:
        """The node hosting the most portfolios, and those ({portfolio: epoch})."""
        placed = self.placements()
        victim = max(NODES, key=lambda n: (sum(1 for node, _ in placed.values() if node == n), n))
        return victim, {pid: epoch for pid, (node, epoch) in placed.items() if node == victim}

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

    def first_order_tick_ns(self, pid: str, node: str, epoch: int) -> int:
        """The event time of the first order at ``epoch`` (the feed's stamp of its tick)."""
        return read_journal(self.store, pid).orders_at(epoch, node)[0].order.created_ns

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

    def command_logged_ns(self, node: str, command: str, pid: str, after_ns: int | None = None) -> int:
        """When ``node`` took ``command`` for ``pid`` off the bus (its log line; the node
        stops emitting orders for it from then on): the last such line, or the first one
        stamped at or after ``after_ns`` (to the log's millisecond)."""
        marker = f"command {command} {pid} "
        stamps = [_log_ns(line) for line in self.cluster.procs[node].text().splitlines() if marker in line]
        if after_ns is not None:
            stamps = [s for s in stamps if s >= after_ns - 1_000_000]
        if not stamps:
            raise RuntimeError(f"{node} never logged {marker!r}")
        return stamps[0] if after_ns is not None else stamps[-1]

    def load_started_ns(self, node: str, pid: str) -> tuple[int, bool]:
        """When ``node`` started its last load of ``pid``: the load taken off the bus, or
        (a prepared target) the fence naming it first, the last of either log line; and
        whether it was the fence."""
        command, fence = f"command portfolio.load {pid} ", f"{pid}: the fence names this node "
        lines = [line for line in self.cluster.procs[node].text().splitlines() if command in line or fence in line]
        if not lines:
            raise RuntimeError(f"{node} never logged a load of {pid}")
        return _log_ns(lines[-1]), fence in lines[-1]

    def tick_to_order(self) -> list[float]:
        """Tick stamped by the feed -> order received by the gateway, in seconds, for every
        journaled order except the first of each epoch: the cluster's usual order path,
        which a failover's first order cannot beat."""
        out = []
        for pid in self.pids:
            seen: set[int] = set()
            for entry in read_journal(self.store, pid).orders:
                if entry.order.epoch in seen:
                    out.append((entry.received_ns - entry.order.created_ns) / 1e9)
                seen.add(entry.order.epoch)
        return out

    def scheduler_logged_ns(self, marker: str, after_ns: int) -> list[int]:
        """Stamps of the scheduler's log lines holding ``marker``, from ``after_ns`` on."""
        lines = self.cluster.procs["scheduler"].text().splitlines()
        return [s for s in (_log_ns(line) for line in lines if marker in line) if s >= after_ns - 1_000_000]

    def baseline(self, seconds: float, window: float = 20.0) -> list[Window]:
        """Trade ``seconds`` without any fault; tick -> order per ``window``: how the
        cluster's own order path fares on this machine, before any kill."""
        out = []
        begun = last = time.time_ns()
        while (time.time_ns() - begun) / 1e9 < seconds:
            time.sleep(window)  # a measurement window (a benchmark may sleep; a test may not)
            now = time.time_ns()
            latencies = sorted(
                (entry.received_ns - entry.order.created_ns) / 1e9
                for pid in self.pids
                for entry in read_journal(self.store, pid).orders
                if last <= entry.received_ns < now
            )
            if latencies:
                out.append(
                    Window((now - begun) / 1e9, len(latencies), percentile(latencies, 50), percentile(latencies, 99))
                )
            last = now
        return out

    def audit_mark(self) -> int:
        return max((e.id for e in self.store.audit.recent(1)), default=0)

    def failovers_since(self, mark: int, victim: str | None = None) -> list[AuditEntry]:
        found = [e for e in self.store.audit.recent(1000, event="failover") if e.id > mark]
        return sorted((e for e in found if victim is None or e.detail.get("from") == victim), key=lambda e: e.id)

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        wait_until(condition, TIMEOUT, what, interval=0.01)

    def restart_victim(self, victim: str) -> None:
        """The victim comes back under its id (once its claim has expired) and is rebalanced onto."""
        self.wait(lambda: self.coord.get(names.node_claim_key(victim)) is None, "old claim expired")
        self.cluster.node(victim)
        self.wait(lambda: self.coord.get(names.heartbeat_key(victim)) is not None, f"{victim} back")
        self.wait(self.settled, "rebalanced")

    # --- the scenario ------------------------------------------------------------------

    def start(self, symbols: int, rate: float, workdir: Path, probe: int | None) -> None:
        self.cluster.gateway()
        self.cluster.scheduler()
        for node_id in NODES:
            self.cluster.node(node_id)
        self.cluster.feed(symbols, rate, seed=11)
        self.wait(lambda: all(self.coord.get(names.heartbeat_key(n)) for n in NODES), "three nodes")
        specs = write_specs(workdir / "specs", len(self.pids), symbols, probe=probe)
        deployed = self.cluster.cli(["portfolio", "deploy", *map(str, specs)])
        if deployed.returncode != 0:
            raise RuntimeError(deployed.stdout + deployed.stderr)
        # placement with partition affinity may leave a first deploy up to the slack
        # above the mean: balance is only awaited after a node rejoins (rebalancing)
        self.wait(lambda: self.settled(balanced=False), "portfolios placed")
        self.wait(lambda: all(read_journal(self.store, p).orders for p in self.pids), "all portfolios trading")

    def failover(self, kill: int) -> list[Failover]:
        victim, lost = self.busiest()
        self.wait(lambda: all(self.first_order_ns(p, victim, e) for p, e in lost.items()), "victim trading")
        mark = self.audit_mark()
        killed_ns = time.time_ns()
        self.cluster.procs[victim].kill()

        def moved(pid: str) -> bool:
            node, epoch = self.placements()[pid]
            return node != victim and epoch > lost[pid] and self.first_order_ns(pid, node or "", epoch) is not None

        self.wait(lambda: all(moved(p) for p in lost), f"portfolios of {victim} trading again")
        decided = {e.detail["portfolio_id"]: e for e in self.failovers_since(mark, victim)}
        noticed = min(e.ts_ns for e in decided.values())
        seen = min([noticed, *self.scheduler_logged_ns(f"session of node(s) {victim} closed", killed_ns)])
        results = []
        placed_now = self.placements()
        for pid in sorted(lost):
            node, epoch = placed_now[pid]
            assert node is not None
            received = self.command_logged_ns(node, "portfolio.load", pid, after_ns=killed_ns)
            loaded = self.load_acked_ns(pid, node, epoch)
            first = self.first_order_ns(pid, node, epoch)
            assert first is not None and loaded is not None
            results.append(
                Failover(
                    kill=kill,
                    portfolio_id=pid,
                    victim=victim,
                    target=node,
                    reason=_reason(decided[pid]),
                    seen_s=(seen - killed_ns) / 1e9,
                    noticed_s=(noticed - killed_ns) / 1e9,
                    decided_s=(decided[pid].ts_ns - killed_ns) / 1e9,
                    received_s=(received - killed_ns) / 1e9,
                    loaded_s=(loaded - killed_ns) / 1e9,
                    first_tick_s=(self.first_order_tick_ns(pid, node, epoch) - killed_ns) / 1e9,
                    first_order_s=(first - killed_ns) / 1e9,
                )
            )
        self.restart_victim(victim)
        return results

    def stall(self, seconds: float) -> StallRun:
        """SIGSTOP the busiest node for ``seconds``; its failovers, if any, against its TTL."""
        victim, lost = self.busiest()
        self.wait(lambda: all(self.first_order_ns(p, victim, e) for p, e in lost.items()), "victim trading")
        beat = self.coord.get_with_ttl(names.heartbeat_key(victim))
        assert beat is not None and beat[1] is not None
        mark = self.audit_mark()
        stopped_ns = time.time_ns()
        self.cluster.procs[victim].pause()
        expiry_s = beat[1]  # its remaining TTL, read just before the stop
        time.sleep(seconds)  # the stall itself (a benchmark may sleep; a test may not)
        resumed_ns = time.time_ns()
        self.cluster.procs[victim].resume()

        def beats_again() -> bool:
            value = self.coord.get(names.heartbeat_key(victim))
            return value is not None and datetime.fromisoformat(value).timestamp() * 1e9 > resumed_ns

        self.wait(beats_again, f"{victim} beats again")
        time.sleep(HEARTBEAT_TTL_S)  # a late failover would show in this window
        found = [
            (e.detail["portfolio_id"], _reason(e), (e.ts_ns - stopped_ns) / 1e9)
            for e in self.failovers_since(mark, victim)
        ]
        self.wait(self.settled, "settled after the stall")
        return StallRun(victim=victim, seconds=seconds, expiry_s=expiry_s, failovers=found)

    def redis_restart(self, server: ServerProcess, keep_data: bool) -> RestartRun:
        """Restart redis-server: every connection drops at once."""
        mark = self.audit_mark()
        placed = self.placements()
        before = {n: self.coord.hgetall(names.metrics_key(n)).get("session") for n in NODES}
        begun_ns = time.time_ns()
        restart_redis(server, keep_data=keep_data)
        answered_ns = time.time_ns()

        def sessions_back() -> bool:
            tokens = {n: self.coord.hgetall(names.metrics_key(n)).get("session") for n in NODES}
            if any(tokens[n] in (None, before[n]) for n in NODES):
                return False
            states = self.coord.session_states([t for t in tokens.values() if t])
            return set(states.values()) == {SessionState.OPEN}

        self.wait(sessions_back, "every node reports a new session")
        back_ns = time.time_ns()

        def trading() -> bool:
            return all(any(o.received_ns > answered_ns for o in read_journal(self.store, p).orders) for p in self.pids)

        self.wait(trading, "every portfolio trading after the restart")
        trading_ns = time.time_ns()
        window_end = time.time_ns() + int(HEARTBEAT_TTL_S * 1e9)

        def passed_after() -> bool:
            report = read_status(self.coord)
            return report is not None and report.updated_ns > window_end

        self.wait(passed_after, "the leader passes on after the restart")
        self.wait(self.settled, "settled after the restart")
        now = self.placements()
        return RestartRun(
            keep_data=keep_data,
            outage_s=(answered_ns - begun_ns) / 1e9,
            sessions_back_s=(back_ns - begun_ns) / 1e9,
            trading_s=(trading_ns - begun_ns) / 1e9,
            failovers=[(e.detail["portfolio_id"], _reason(e)) for e in self.failovers_since(mark)],
            placements_moved=sum(1 for pid in placed if now[pid][0] != placed[pid][0]),
            epochs_bumped=sum(1 for pid in placed if now[pid][1] != placed[pid][1]),
        )

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
        told, by_fence = self.load_started_ns(target, pid)
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
            by_fence=by_fence,
        )


# --- report ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def report_failovers(console: Console, failovers: list[Failover], rounds: int, usual: list[float]) -> None:
    if not failovers:
        return
    reasons = sorted({f.reason for f in failovers})
    title = f"Failover after kill -9 ({len(failovers)} portfolios, {rounds} kills; reason: {', '.join(reasons)})"
    table = Table(title=title)
    for column in ("measure (from the kill)", "min s", "p50 s", "p95 s", "p99 s", "max s"):
        table.add_column(column, justify="left" if column.startswith("measure") else "right")
    rows = [
        ("scheduler sees the session closed (its log)", [f.seen_s for f in failovers]),
        ("first load of the kill sent (first decision)", [f.noticed_s for f in failovers]),
        ("this portfolio's load sent (its decision)", [f.decided_s for f in failovers]),
        ("new owner takes the load off the bus", [f.received_s for f in failovers]),
        ("new owner loaded (its load ack)", [f.loaded_s for f in failovers]),
        ("the tick of its first order (feed's stamp)", [f.first_tick_s for f in failovers]),
        ("first order of the new epoch (journal)", [f.first_order_s for f in failovers]),
    ]
    for label, values in rows:
        cells = [min(values), percentile(values, 50), percentile(values, 95), percentile(values, 99), max(values)]
        table.add_row(label, *(f"{v:.3f}" for v in cells))
    if usual:
        cells = [min(usual), percentile(usual, 50), percentile(usual, 95), percentile(usual, 99), max(usual)]
        table.add_row(f"for comparison: tick -> order, any other order ({len(usual)})", *(f"{v:.3f}" for v in cells))
    console.print(table)
    p99 = percentile([f.first_order_s for f in failovers], 99)
    console.print(
        f"failover target (kill -9 -> first order at the new epoch < {FAILOVER_TARGET_S:g} s, p99): "
        f"p99 {p99:.3f} s -> {'MET' if p99 < FAILOVER_TARGET_S else 'NOT MET'}"
    )


def report_stalls(console: Console, stalls: list[StallRun]) -> None:
    if not stalls:
        return
    table = Table(title=f"SIGSTOP of a live node (heartbeat TTL {HEARTBEAT_TTL_S:g} s)")
    for column in ("stopped s", "node", "its key due to expire s", "failovers", "reasons", "first failover s"):
        table.add_column(column, justify="right")
    for run in stalls:
        first = min((at for _, _, at in run.failovers), default=None)
        table.add_row(
            f"{run.seconds:g}",
            run.victim,
            f"{run.expiry_s:.2f}",
            str(len(run.failovers)),
            ", ".join(sorted({reason for _, reason, _ in run.failovers})) or "-",
            "-" if first is None else f"{first:.2f}",
        )
    console.print(table)
    early = [run for run in stalls if any(at < run.expiry_s for _, _, at in run.failovers)]
    console.print(
        "stalled node failed over before its heartbeat TTL: "
        + ("never -> MET" if not early else f"{len(early)} run(s) -> NOT MET")
    )


def report_restarts(console: Console, restarts: list[RestartRun]) -> None:
    if not restarts:
        return
    table = Table(title="redis-server restart (every connection drops at once)")
    columns = ("keys", "outage s", "sessions back s", "all trading s", "failovers", "reasons", "moved", "re-fenced")
    for column in columns:
        table.add_column(column, justify="right")
    for run in restarts:
        table.add_row(
            "kept" if run.keep_data else "lost",
            f"{run.outage_s:.2f}",
            f"{run.sessions_back_s:.2f}",
            f"{run.trading_s:.2f}",
            str(len(run.failovers)),
            ", ".join(sorted({reason for _, reason in run.failovers})) or "-",
            str(run.placements_moved),
            str(run.epochs_bumped),
        )
    console.print(table)
    kept = [run for run in restarts if run.keep_data]
    if kept:
        bad = sum(len(run.failovers) for run in kept)
        verdict = "MET" if not bad else "NOT MET"
        console.print(f"Redis restart (keys kept) fails nobody over: {bad} failover(s) -> {verdict}")


def report_migrations(console: Console, migrations: list[Migration]) -> None:
    if not migrations:
        return
    table = Table(title=f"Planned migration ({len(migrations)} migrations)")
    for column in ("measure", "min ms", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    rows = [
        ("scheduler gap (source ack -> target ack)", [m.scheduler_gap_ms for m in migrations]),
        ("node gap (source stops -> target loaded)", [m.node_gap_ms for m in migrations]),
        ("  of which: source drains and acks", [m.drain_ms for m in migrations]),
        ("  of which: leader hands over (-> target starts its load)", [m.handover_ms for m in migrations]),
        ("  of which: target loads and acks", [m.load_ms for m in migrations]),
        ("journal gap (last old order -> first new)", [m.journal_gap_ms for m in migrations]),
        ("usual time between two orders (before)", [m.usual_interval_ms for m in migrations]),
    ]
    for label, values in rows:
        cells = [min(values), percentile(values, 50), percentile(values, 95), percentile(values, 99), max(values)]
        table.add_row(label, *(f"{v:.0f}" for v in cells))
    console.print(table)
    console.print(f"loads started by the fence, before the command arrived: {sum(m.by_fence for m in migrations)}")
    p99 = max(
        percentile([m.scheduler_gap_ms for m in migrations], 99),
        percentile([m.node_gap_ms for m in migrations], 99),
    )
    console.print(
        f"migration target (gap p99 < {MIGRATION_TARGET_MS:g} ms): p99 of the scheduler/node gap {p99:.0f} ms -> "
        f"{'MET' if p99 < MIGRATION_TARGET_MS else 'NOT MET'}"
    )


def report_baseline(console: Console, windows: list[Window]) -> None:
    if not windows:
        return
    table = Table(title="Before any kill: tick -> order of the cluster, per window")
    for column in ("trading for s", "orders", "p50 s", "p99 s"):
        table.add_column(column, justify="right")
    for w in windows:
        table.add_row(f"{w.end_s:.0f}", str(w.orders), f"{w.p50_s:.3f}", f"{w.p99_s:.3f}")
    console.print(table)


def report_kills(console: Console, failovers: list[Failover]) -> None:
    """One line per kill: the slowest of its portfolios."""
    if not failovers:
        return
    table = Table(title="Per kill (the slowest of its portfolios)")
    for column in ("kill", "node", "portfolios", "loads sent s", "loaded s", "first order s"):
        table.add_column(column, justify="right")
    kills: dict[int, list[Failover]] = {}
    for failover in failovers:
        kills.setdefault(failover.kill, []).append(failover)
    for number, kill in sorted(kills.items()):
        table.add_row(
            str(number),
            kill[0].victim,
            str(len(kill)),
            f"{max(f.decided_s for f in kill):.3f}",
            f"{max(f.loaded_s for f in kill):.3f}",
            f"{max(f.first_order_s for f in kill):.3f}",
        )
    console.print(table)


def report(console: Console, results: Results, args: argparse.Namespace) -> None:
    report_baseline(console, results.baseline)
    report_kills(console, results.failovers)
    report_failovers(console, results.failovers, args.rounds, results.tick_to_order)
    report_stalls(console, results.stalls)
    report_restarts(console, results.restarts)
    report_migrations(console, results.migrations)
    if args.json:
        payload = {
            "failovers": [f.__dict__ for f in results.failovers],
            "stalls": [s.__dict__ for s in results.stalls],
            "restarts": [r.__dict__ for r in results.restarts],
            "migrations": [m.__dict__ for m in results.migrations],
            "tick_to_order": results.tick_to_order,
            "baseline": [w.__dict__ for w in results.baseline],
            "args": vars(args),
        }
        Path(args.json).write_text(json.dumps(payload, indent=2))


@contextlib.contextmanager
def _servers() -> Iterator[tuple[str, ServerProcess, str]]:
    with tansu_broker() as kafka, redis_server() as redis, postgres_database() as db:
        yield kafka.url, redis, db


def run(bench: Bench, redis: ServerProcess, args: argparse.Namespace, workdir: Path) -> Results:
    results = Results()
    bench.start(args.symbols, args.rate, workdir, probe=args.probe_every if args.strategy == "probe" else None)
    if args.baseline > 0:
        results.baseline = bench.baseline(args.baseline)
    for kill in range(1, args.rounds + 1):
        results.failovers.extend(bench.failover(kill))
    for seconds in args.stall:
        if seconds > 0:
            results.stalls.append(bench.stall(seconds))
    if args.redis_restart != "none":
        results.restarts.append(bench.redis_restart(redis, keep_data=args.redis_restart == "kept"))
    results.migrations.extend(bench.migration(i) for i in range(args.migrations))
    results.tick_to_order = bench.tick_to_order()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="node kills")
    parser.add_argument(
        "--stall", type=float, action="append", default=None, help="SIGSTOP the busiest node this long (repeatable)"
    )
    parser.add_argument("--redis-restart", choices=("kept", "lost", "none"), default="kept")
    parser.add_argument(
        "--baseline", type=float, default=0.0, help="trade this long without a fault first (tick -> order per 20 s)"
    )
    parser.add_argument("--migrations", type=int, default=6, help="planned migrations")
    parser.add_argument("--portfolios", type=int, default=20)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0, help="ticks per second, all symbols")
    parser.add_argument("--tick", type=float, default=0.2, help="scheduler pass interval, seconds")
    parser.add_argument("--session-poll", type=float, default=None, help="the scheduler's --session-poll")
    parser.add_argument("--strategy", choices=("probe", "signals"), default="probe")
    parser.add_argument("--probe-every", type=int, default=8, help="the probe orders on every N-th price")
    parser.add_argument("--json", default="", help="also write the raw samples to this file")
    parser.add_argument("--keep-logs", action="store_true", help="print where the process logs are")
    args = parser.parse_args()
    if args.stall is None:
        args.stall = [2.0]
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="livecore-bench-failover-"))
    timings = Timings(
        heartbeat_interval=HEARTBEAT_INTERVAL_S,
        heartbeat_ttl=HEARTBEAT_TTL_S,
        scheduler_tick=args.tick,
        lease_ttl=max(2.0, 4 * args.tick),
        session_poll=args.session_poll,
    )
    with _servers() as (kafka_url, redis, db_url):
        backends = Backends(tansu_bus_url(kafka_url), redis.url, db_url, f"bf{uuid.uuid4().hex[:6]}.")
        store = open_store(db_url)
        coord = open_coordination(redis.url)
        try:
            with Cluster(backends, workdir, timings) as cluster:
                bench = Bench(cluster, store, coord, args.portfolios)
                try:
                    results = run(bench, redis, args, workdir)
                except Exception:
                    console.print(cluster.logs(30), markup=False, highlight=False)
                    raise
        finally:
            store.close()
            coord.close()
    poll = "default" if args.session_poll is None else f"{args.session_poll:g} s"
    strategy = f"probe, every {args.probe_every} prices" if args.strategy == "probe" else "signals"
    console.print(
        f"cluster: 3 nodes (heartbeat {HEARTBEAT_INTERVAL_S:g} s, TTL {HEARTBEAT_TTL_S:g} s), scheduler tick "
        f"{args.tick:g} s, session poll {poll}, {args.portfolios} portfolios ({strategy}), {args.symbols} "
        f"symbols at {args.rate:g} ticks/s; Tansu + redis-server + PostgreSQL on this machine"
    )
    report(console, results, args)
    if args.keep_logs:
        console.print(f"logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
