"""Chaos: while a separate-process cluster trades, kill -9 and restart in turn
redis-server, the gateway, a node and the scheduler leader, cut every database
connection, then the broker (skipped with ``LIVECORE_CHAOS_BROKER=0``). After each fault
trading must resume without an operator; at the end every portfolio's books
equal the journal, no client order id executed twice and no fill lost.

The broker and redis-server are this test's own (it kills them), started on a
fixed port so that a restart comes back where the clients look. Every wait is a
condition with a deadline; the process logs and the timeline are printed when
the test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.e2e.test_failover import _assert_executed_once, _assert_no_stale_fill
from tests.servers import ServerProcess, postgres_database, redis_server, tansu_broker, tansu_bus_url, wait_until

from livecore.adapters.factory import open_coordination, open_store
from livecore.ops.books import check_snapshots, check_views
from livecore.ops.context import Ops, open_ops
from livecore.ops.nodes import node_pause
from livecore.ops.status import status
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.testing.cluster import Backends, Cluster, read_journal, write_specs
from livecore.wire import names

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(900)]

PORTFOLIOS = 6
SYMBOLS = 6
RATE = 120.0
NODES = ("n1", "n2")
START_TIMEOUT = 90.0
# The broker step (kill -9, restart with its topics lost) runs unless
# LIVECORE_CHAOS_BROKER=0; its record is in docs/RESULTS.md ("Fuzz, property and
# chaos suites").
BROKER_STEP = os.environ.get("LIVECORE_CHAOS_BROKER", "1") != "0"
RECOVER_TIMEOUT = 60.0
SETTLE_TIMEOUT = 60.0


@pytest.fixture
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with tansu_broker() as broker, redis_server() as coord:
        yield broker, coord


class Timeline:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[str] = []

    def mark(self, what: str) -> None:
        line = f"[{time.monotonic() - self.started:6.1f}s] {what}"
        self.events.append(line)
        print(line)


def _order_counts(store: Store, pids: list[str]) -> dict[str, int]:
    return {pid: len(store.journal.orders(pid)) for pid in pids}


def _trading_resumes(
    store: Store, pids: list[str], what: str, timeline: Timeline, timeout: float = RECOVER_TIMEOUT
) -> None:
    """Every portfolio journals a new order after a fault: the whole path works again, for all of them."""
    before = _order_counts(store, pids)

    def all_trade_again() -> bool:
        now = _order_counts(store, pids)
        return all(now[pid] > before[pid] for pid in pids)

    try:
        wait_until(all_trade_again, timeout, f"every portfolio trading after {what}", 0.2)
    except TimeoutError:
        now = _order_counts(store, pids)
        placed = {e.portfolio_id: (e.node_id, e.epoch) for e in store.registry.list()}
        stuck = {pid: placed.get(pid) for pid in pids if now[pid] <= before[pid]}
        raise AssertionError(f"not trading again after {what} within {timeout}s: {stuck}") from None
    timeline.mark(f"every portfolio trading again after {what}")


def _cut_database(db_url: str) -> int:
    """Terminate every server-side connection to the test database (not our own)."""
    name = sa.engine.make_url(db_url).database
    admin = sa.create_engine(sa.engine.make_url(db_url).set(drivername="postgresql+psycopg2"))
    try:
        with admin.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            ).fetchall()
            return len(rows)
    finally:
        admin.dispose()


def _node_seen_dead(coord: Coordination, node_id: str) -> bool:
    return coord.get(names.heartbeat_key(node_id)) is None


def test_kill_everything_in_turn_and_the_books_equal_the_journal(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    broker, redis_srv = servers
    with postgres_database() as db_url:
        backends = Backends(tansu_bus_url(broker.url), redis_srv.url, db_url, f"chaos{uuid.uuid4().hex[:6]}.")
        store = open_store(db_url)
        coord = open_coordination(redis_srv.url)
        timeline = Timeline()
        cluster = Cluster(backends, tmp_path)
        chaos = Chaos(cluster, store, coord, timeline)
        try:
            chaos.start(tmp_path)
            chaos.kill_redis(redis_srv)
            chaos.kill_gateway()
            chaos.kill_node(NODES[0])
            chaos.kill_scheduler_leader()
            chaos.cut_database()
            if BROKER_STEP:
                chaos.kill_broker(broker)
            _settle_and_check(cluster, store, coord, chaos.pids, timeline)
        finally:
            cluster.close()
            print("\n".join(timeline.events))
            print(cluster.logs())
            with contextlib.suppress(Exception):
                coord.close()
            store.close()


class Chaos:
    """One fault at a time; after each, every portfolio must trade again."""

    def __init__(self, cluster: Cluster, store: Store, coord: Coordination, timeline: Timeline) -> None:
        self.cluster, self.store, self.coord, self.timeline = cluster, store, coord, timeline
        self.ops = Ops(coord, store)
        self.pids: list[str] = []

    def resumes(self, what: str, timeout: float = RECOVER_TIMEOUT) -> None:
        _trading_resumes(self.store, self.pids, what, self.timeline, timeout)

    def placements(self) -> dict[str, tuple[str | None, int]]:
        return {e.portfolio_id: (e.node_id, e.epoch) for e in self.store.registry.list()}

    def start(self, tmp_path: Path) -> None:
        self.cluster.gateway()
        self.cluster.scheduler()
        self.cluster.spawn(
            "scheduler-b", ["scheduler", "--id", "sched-b", "--tick", "0.2", "--lease-ttl", "2", "--verbose"]
        )
        for node_id in NODES:
            self.cluster.node(node_id)
        self.cluster.feed(SYMBOLS, RATE, seed=11)
        wait_until(lambda: all(not _node_seen_dead(self.coord, n) for n in NODES), START_TIMEOUT, "nodes up")
        specs = write_specs(tmp_path / "specs", PORTFOLIOS, SYMBOLS)
        # a CLI process can take a minute just to import on an overloaded 2-core machine
        deployed = self.cluster.cli(["portfolio", "deploy", *map(str, specs)], timeout=2 * START_TIMEOUT)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        self.pids = [p.stem for p in specs]

        def all_running() -> bool:
            return sum(p.state == "running" for p in status(self.ops).portfolios) == PORTFOLIOS

        wait_until(all_running, START_TIMEOUT, "all running")
        self.resumes("start", START_TIMEOUT)

    def kill_redis(self, redis_srv: ServerProcess) -> None:
        """Killed and restarted empty: heartbeats, leases and views come back."""
        redis_srv.kill()
        self.timeline.mark("redis-server killed")
        down = self.cluster.cli(["status"], timeout=120)
        said = (down.stdout + down.stderr).strip()
        assert down.returncode == 2 and "redis" in said.lower(), down
        self.timeline.mark(f"status while redis is down: {said}")
        redis_srv.start()
        self.timeline.mark("redis-server restarted")
        self.resumes("redis-server restart")

    def kill_gateway(self) -> None:
        self.cluster.procs["gateway"].kill()
        self.timeline.mark("gateway killed")
        self.cluster.gateway()
        self.resumes("gateway restart")

    def kill_node(self, victim: str) -> None:
        """Its portfolios fail over at a higher epoch; it comes back under its id."""
        lost = {pid: epoch for pid, (node, epoch) in self.placements().items() if node == victim}
        self.cluster.procs[victim].kill()
        self.timeline.mark(f"{victim} killed, hosting {sorted(lost)}")
        wait_until(lambda: _node_seen_dead(self.coord, victim), RECOVER_TIMEOUT, f"{victim} seen dead")

        def failed_over() -> bool:
            now = self.placements()
            return all(now[pid][0] not in (None, victim) and now[pid][1] > epoch for pid, epoch in lost.items())

        wait_until(failed_over, RECOVER_TIMEOUT, f"portfolios of {victim} placed elsewhere at a higher epoch")
        self.timeline.mark(f"failed over from {victim}")
        self.resumes(f"{victim} killed")
        wait_until(lambda: self.coord.get(names.node_claim_key(victim)) is None, RECOVER_TIMEOUT, "claim expired")
        self.cluster.node(victim)
        wait_until(lambda: not _node_seen_dead(self.coord, victim), START_TIMEOUT, f"{victim} back")

    def kill_scheduler_leader(self) -> None:
        """Whichever scheduler holds the lease is killed; the other one takes it over."""
        processes = {"sched-e2e": "scheduler", "sched-b": "scheduler-b"}

        def holder() -> str | None:
            return self.coord.hgetall(names.SCHEDULER_LEADER_LEASE).get("holder")

        wait_until(lambda: holder() in processes, RECOVER_TIMEOUT, "a scheduler holds the leader lease")
        leader = str(holder())
        standby = next(s for s in processes if s != leader)
        self.cluster.procs[processes[leader]].kill()
        self.timeline.mark(f"scheduler leader {leader} killed")
        assert self.cluster.procs[processes[standby]].alive, self.cluster.procs[processes[standby]].tail()
        wait_until(lambda: holder() == standby, RECOVER_TIMEOUT, f"{standby} holds the leader lease")
        self.timeline.mark(f"{standby} leads")
        self.resumes("scheduler leader kill")

    def cut_database(self) -> None:
        cut = _cut_database(self.cluster.backends.db_url)
        self.timeline.mark(f"cut {cut} database connections")
        self.resumes("database cut")

    def kill_broker(self, broker: ServerProcess) -> None:
        """Restarted on the same port with its memory storage lost; status says degraded meanwhile."""
        broker.kill()
        self.timeline.mark("broker killed")
        wait_until(lambda: status(self.ops).health == "degraded", RECOVER_TIMEOUT, "status degraded")
        self.timeline.mark(f"status while the broker is down: {status(self.ops).problems}")
        broker.start()
        self.timeline.mark("broker restarted (topics lost)")
        self.resumes("broker restart", 2 * RECOVER_TIMEOUT)
        wait_until(lambda: status(self.ops).health == "ok", RECOVER_TIMEOUT, "status ok after the broker is back")
        self.timeline.mark("status ok again")


def _settled(store: Store, coord: Coordination, pids: list[str]) -> bool:
    """Every market order has its final outcome and every live view equals the journal."""
    if any(read_journal(store, pid).open_market_orders() for pid in pids):
        return False
    for pid in pids:
        raw = coord.get(names.portfolio_view_key(pid))
        if raw is None or json.loads(raw)["open_orders"]:
            return False
    checks = check_views(store, coord, pids)
    return len(checks) == len(pids) and all(c.matches for c in checks)


def _settle_and_check(cluster: Cluster, store: Store, coord: Coordination, pids: list[str], timeline: Timeline) -> None:
    """Pause trading, wait until every market order is final and every view equals
    the journal, stop the nodes gracefully, then check the snapshots too."""
    for name in ("scheduler", "scheduler-b"):
        cluster.procs[name].stop()  # the killed one is already gone
    with open_ops(cluster.backends.settings(), with_bus=True) as operator:
        for node_id in NODES:
            outcome = node_pause(operator, node_id)
            assert outcome.ok, outcome
    try:
        wait_until(lambda: _settled(store, coord, pids), SETTLE_TIMEOUT, "settled", 0.2)
    except TimeoutError:
        views = check_views(store, coord, pids)
        open_orders = {pid: read_journal(store, pid).open_market_orders() for pid in pids}
        raise AssertionError(
            f"not settled: mismatches {[c for c in views if not c.matches]}, "
            f"market orders without an outcome { ({p: ids for p, ids in open_orders.items() if ids}) }, "
            f"views {len(views)} of {len(pids)}"
        ) from None
    timeline.mark("paused and settled: views equal the journal")
    cluster.procs["feed"].stop()
    for node_id in NODES:
        assert cluster.procs[node_id].stop() == 0, cluster.procs[node_id].tail()
    checks = check_snapshots(store)
    wrong = [c for c in checks if not c.matches or c.status != "OK" or c.lost_fill_ids]
    assert wrong == [], wrong
    assert sorted(c.portfolio_id for c in checks) == sorted(pids)
    for pid in pids:
        journal = read_journal(store, pid)
        _assert_executed_once(pid, journal)
        _assert_no_stale_fill(pid, journal)
    fills = sum(c.journal_fills for c in checks)
    timeline.mark(f"snapshots equal the journal: {fills} fills, {len(store.journal.orders())} orders")
