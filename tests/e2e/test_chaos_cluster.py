"""Chaos: the distributed system trades while, in turn, the broker, redis-server,
the gateway, a node and the scheduler leader are killed with SIGKILL and
started again, and the database connections are cut (``pg_terminate_backend``).

The broker is Tansu with memory storage: its restart loses every topic,
record and committed offset (Tansu on S3 storage, which keeps them, is too slow
here for a cluster of twenty portfolios: an object per batch on
``moto_server``). redis-server keeps nothing either. After each blow every portfolio must trade again
(an order received by the gateway after the blow). The broker outage must be
visible in ``status`` (``degraded``) while it lasts and gone after. At the end,
with trading paused and settled, every portfolio's books (live views and final
snapshots) equal the gateway journal, no client order id executed twice, no
fill id journaled twice.

The helpers of the failover test (``test_failover.py``) do the settling and
the checks; the cluster is the same (three nodes, twenty portfolios).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.e2e import test_failover as failover
from tests.e2e.cluster import Backends, Cluster, Timings, tansu_bus_url, write_specs
from tests.servers import (
    POSTGRES_ADMIN_URL,
    ServerProcess,
    TansuBroker,
    postgres_database,
    redis_server,
    tansu_broker,
    wait_until,
)

from livecore.adapters.factory import open_coordination, open_store
from livecore.ops.context import open_ops
from livecore.ops.nodes import node_pause
from livecore.wire import names

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.redis, pytest.mark.postgres]

NODES = failover.NODES
TIMINGS = Timings()
START_TIMEOUT = 120.0
RECOVERY_TIMEOUT = 90.0


class Chaos:
    """The cluster, its servers and the test's view of it."""

    def __init__(
        self, cluster: Cluster, broker: TansuBroker, redis: ServerProcess, db_url: str, world: failover.World
    ) -> None:
        self.cluster = cluster
        self.broker = broker
        self.redis = redis
        self.db_url = db_url
        self.world = world
        self.health_seen: list[str] = []

    def trading_since(self, since_ns: int) -> bool:
        """Every portfolio had an order received by the gateway after ``since_ns``."""
        recent = {o.order.portfolio_id for o in self.world.store.journal.orders() if o.received_ns > since_ns}
        return recent >= set(self.world.pids)

    def recovered(self, since_ns: int, what: str) -> None:
        try:
            wait_until(lambda: self.trading_since(since_ns), RECOVERY_TIMEOUT, f"all trading again after {what}")
        except TimeoutError:
            missing = set(self.world.pids) - {
                o.order.portfolio_id for o in self.world.store.journal.orders() if o.received_ns > since_ns
            }
            views = {pid: self.world.coord.get(names.portfolio_view_key(pid)) for pid in sorted(missing)[:3]}
            raise AssertionError(
                f"after {what}, not trading: {sorted(missing)}; {self.status_line()}; views {views}"
            ) from None
        self.world.mark(f"{what}: every portfolio trades again")

    def status_line(self) -> str:
        try:
            report = self.world.status()
        except Exception as exc:
            return f"status unavailable: {exc}"
        states = sorted({p.state for p in report.portfolios})
        return f"health {report.health} {report.problems}; portfolio states {states}"

    def health(self) -> str:
        try:
            value = self.world.status().health
        except Exception:  # redis down: status cannot be read
            value = "unreadable"
        self.health_seen.append(value)
        return value

    def cut_database(self) -> int:
        """Terminate every connection to the cluster's database but the test's own."""
        name = self.db_url.rsplit("/", 1)[1]
        admin_url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg2")
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                result = conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": name},
                )
                return int(result.scalar() or 0)
        finally:
            admin.dispose()


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    with tansu_broker() as broker, redis_server() as redis, postgres_database() as db_url:
        backends = Backends(tansu_bus_url(broker.url), redis.url, db_url, f"chaos{uuid.uuid4().hex[:6]}.")
        cluster = Cluster(backends, tmp_path, TIMINGS)
        store = open_store(db_url)
        coord = open_coordination(redis.url)
        try:
            yield Chaos(cluster, broker, redis, db_url, failover.World(store, coord))
        finally:
            cluster.close()
            store.close()
            coord.close()
            print(cluster.logs())  # shown by pytest when the test failed


def test_chaos_kills_and_the_books_equal_the_journal(chaos: Chaos, tmp_path: Path) -> None:
    cluster, world = chaos.cluster, chaos.world
    cluster.gateway()
    cluster.scheduler()
    for node_id in NODES:
        cluster.node(node_id)
    cluster.feed(failover.SYMBOLS, failover.RATE, seed=11)
    wait_until(lambda: all(world.alive(n) for n in NODES), START_TIMEOUT, "three nodes")
    specs = write_specs(tmp_path / "specs", failover.PORTFOLIOS, failover.SYMBOLS)
    deployed = cluster.cli(["portfolio", "deploy", *map(str, specs)])
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    wait_until(world.all_running, START_TIMEOUT, "twenty portfolios running")
    chaos.recovered(0, "start")
    assert world.status().health == "ok", chaos.status_line()

    # 1. the broker (data kept): degraded while away, healthy and trading after
    chaos.broker.kill()
    world.mark("broker killed")
    wait_until(lambda: chaos.health() == "degraded", RECOVERY_TIMEOUT, "status degraded while the broker is down")
    world.mark(f"status during the outage: {chaos.status_line()}")
    chaos.broker.start()
    back = time.time_ns()
    wait_until(lambda: chaos.health() == "ok", RECOVERY_TIMEOUT, "status healthy after the broker restart")
    chaos.recovered(back, "broker restart")

    # 2. redis-server: every key lost (heartbeats, leases, fences, claims)
    chaos.redis.kill()
    world.mark("redis killed")
    chaos.redis.start()
    back = time.time_ns()
    wait_until(world.all_running, RECOVERY_TIMEOUT, "twenty running after the redis restart")
    chaos.recovered(back, "redis restart")

    # 3. the gateway
    cluster.procs["gateway"].kill()
    world.mark("gateway killed")
    cluster.gateway()
    chaos.recovered(time.time_ns(), "gateway restart")

    # 4. a node (its portfolios fail over), then it comes back under its id
    placed = world.placements()
    victim = max(NODES, key=lambda n: (sum(1 for node, _ in placed.values() if node == n), n))
    cluster.procs[victim].kill()
    world.mark(f"{victim} killed")
    killed = time.time_ns()
    wait_until(
        lambda: world.all_running() and all(node != victim for node, _ in world.placements().values()),
        RECOVERY_TIMEOUT,
        f"portfolios of {victim} failed over",
    )
    chaos.recovered(killed, f"{victim} kill")
    wait_until(lambda: world.coord.get(names.node_claim_key(victim)) is None, 15, "old claim expired")
    cluster.node(victim)
    wait_until(lambda: world.alive(victim), START_TIMEOUT, f"{victim} back")

    # 5. the scheduler leader
    cluster.procs["scheduler"].kill()
    world.mark("scheduler killed")
    standby = cluster.scheduler()  # same id: the old lease holder name tells nothing, its log does
    wait_until(lambda: "is leader" in standby.text(), RECOVERY_TIMEOUT, "the restarted scheduler leads")
    wait_until(world.all_running, RECOVERY_TIMEOUT, "twenty running under the new leader")

    # 6. every database connection cut
    cut = chaos.cut_database()
    world.mark(f"database: {cut} connection(s) terminated")
    chaos.recovered(time.time_ns(), "database connections cut")

    # settle and check against the journal
    assert cluster.procs["scheduler"].terminate() == 0
    with open_ops(cluster.backends.settings(), with_bus=True) as operator:
        for node_id in NODES:
            outcome = node_pause(operator, node_id)
            assert outcome.ok, outcome
    try:
        wait_until(lambda: failover._settled(world), failover.SETTLE_TIMEOUT, "settled")
    except TimeoutError:
        raise AssertionError(f"not settled: {failover._unsettled(world)}") from None
    world.mark("paused and settled")
    assert cluster.procs["feed"].terminate() == 0
    views = failover._stable_views(world, cluster.timings.heartbeat_interval)
    failover._assert_books(views, world.pids, "view")
    for pid in world.pids:
        failover._assert_executed_once(pid, world.journal(pid))
    for node_id in NODES:
        assert cluster.procs[node_id].terminate() == 0, cluster.procs[node_id].tail()
    failover._assert_books(failover.check_snapshots(world.store), world.pids, "snapshot")
    assert "degraded" in chaos.health_seen and chaos.health_seen[-1] == "ok"
    world.mark(
        f"books equal the journal: {failover._fills_total(views)} fills, {len(world.store.journal.orders())} orders"
    )
