"""The whole distributed system as real processes on Tansu + redis-server +
PostgreSQL: twenty portfolios trade on three nodes; one node is killed with
SIGKILL mid-trading, its portfolios fail over and trade again at a higher
epoch; one portfolio is migrated by the operator; the killed node comes back
under the same id and never trades what it lost. Then, with trading paused and
every market order settled, each portfolio's books equal the gateway journal
(live views and final snapshots), no order executed twice, and no order of a
stale epoch was ever filled.

Every wait is a condition with a timeout; the process logs are printed when the
test fails.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from tests.servers import postgres_database, tansu_bus_url, wait_until

from livecore.adapters.factory import open_coordination, open_store
from livecore.ops.books import BooksCheck, check_snapshots, check_views
from livecore.ops.context import Ops, open_ops
from livecore.ops.nodes import node_pause
from livecore.ops.status import StatusReport, status
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.testing.cluster import Backends, Cluster, PortfolioJournal, portfolio_id, read_journal, write_specs
from livecore.wire import names
from livecore.wire.messages import FILL_STATUSES, FeedbackStatus

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(900)]

PORTFOLIOS = 20
SYMBOLS = 20
RATE = 200.0  # ticks per second over all symbols: ~10 per symbol
NODES = ("n1", "n2", "n3")
REDIS_DB = 11  # the session's redis-server is shared: this cluster's own database, emptied first
START_TIMEOUT = 90.0
FAILOVER_TIMEOUT = 40.0
SETTLE_TIMEOUT = 45.0


@pytest.fixture
def cluster(kafka_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """A private database (the session's one holds other suites' registries, which a
    scheduler would place) and redis database; every process killed at the end."""
    coord_url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    client = redis.Redis.from_url(coord_url)
    client.flushdb()
    client.close()
    with postgres_database() as db_url:
        backends = Backends(tansu_bus_url(kafka_url), coord_url, db_url, f"e2e{uuid.uuid4().hex[:8]}.")
        c = Cluster(backends, tmp_path)
        try:
            yield c
        finally:
            c.close()
            print(c.logs())  # shown by pytest when the test failed


class World:
    """The test's own view: the store, the coordination store and the status report."""

    def __init__(self, store: Store, coord: Coordination) -> None:
        self.store = store
        self.coord = coord
        self.ops = Ops(coord, store)
        self.pids = [portfolio_id(i) for i in range(PORTFOLIOS)]
        self.started = time.monotonic()

    def status(self) -> StatusReport:
        return status(self.ops)

    def placements(self) -> dict[str, tuple[str | None, int]]:
        return {e.portfolio_id: (e.node_id, e.epoch) for e in self.store.registry.list()}

    def all_running(self) -> bool:
        report = self.status()
        return sum(1 for p in report.portfolios if p.state == "running") == PORTFOLIOS and not report.migrations

    def journal(self, pid: str) -> PortfolioJournal:
        return read_journal(self.store, pid)

    def hosted(self, node_id: str) -> dict[str, int]:
        raw = self.coord.hgetall(names.metrics_key(node_id)).get("portfolios")
        return {} if raw is None else {str(k): int(v) for k, v in json.loads(raw).items()}

    def trades_at(self, pid: str, node_id: str, epoch: int) -> bool:
        """An order of this placement reached the journal."""
        return bool(self.journal(pid).orders_at(epoch, node_id))

    def alive(self, node_id: str) -> bool:
        return self.coord.get(names.heartbeat_key(node_id)) is not None

    def mark(self, what: str) -> None:
        """A timeline of the run (printed with the logs when the test fails)."""
        print(f"[{time.monotonic() - self.started:6.1f}s] {what}")


def test_kill_migrate_restart_and_the_books_equal_the_journal(cluster: Cluster, tmp_path: Path) -> None:
    store = open_store(cluster.backends.db_url)
    coord = open_coordination(cluster.backends.coord_url)
    world = World(store, coord)
    try:
        _scenario(cluster, world, tmp_path)
    finally:
        store.close()
        coord.close()


def _scenario(cluster: Cluster, world: World, tmp_path: Path) -> None:
    # 1-2. the cluster, then the portfolios once every node heartbeats
    cluster.gateway()
    cluster.scheduler()
    for node_id in NODES:
        cluster.node(node_id)
    cluster.feed(SYMBOLS, RATE, seed=7)
    wait_until(lambda: all(world.alive(n) and world.hosted(n) == {} for n in NODES), START_TIMEOUT, "three nodes")
    deployed = cluster.cli(["portfolio", "deploy", *map(str, write_specs(tmp_path / "specs", PORTFOLIOS, SYMBOLS))])
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    # 3. all twenty running, every one trading
    wait_until(world.all_running, START_TIMEOUT, "twenty portfolios running")
    wait_until(lambda: all(world.journal(p).orders for p in world.pids), START_TIMEOUT, "orders of all twenty")
    world.mark(f"twenty running and trading: {world.placements()}")
    report = json.loads(cluster.cli(["status", "--json"]).stdout)
    assert {p["portfolio_id"] for p in report["portfolios"] if p["state"] == "running"} == set(world.pids)

    # 4. SIGKILL the busiest node while its portfolios trade
    placed = world.placements()
    victim = max(NODES, key=lambda n: (sum(1 for node, _ in placed.values() if node == n), n))
    lost = {pid: epoch for pid, (node, epoch) in placed.items() if node == victim}
    assert lost, f"{victim} hosts nothing: {placed}"
    wait_until(
        lambda: all(world.trades_at(pid, victim, epoch) for pid, epoch in lost.items()),
        FAILOVER_TIMEOUT,
        f"every portfolio of {victim} trading there",
    )
    cluster.procs[victim].kill()
    world.mark(f"killed {victim} hosting {lost}")
    survivors = [n for n in NODES if n != victim]

    def failed_over(pid: str) -> bool:
        node, epoch = world.placements()[pid]
        return node in survivors and epoch > lost[pid] and world.trades_at(pid, node, epoch)

    wait_until(lambda: all(failed_over(pid) for pid in lost), FAILOVER_TIMEOUT, f"portfolios of {victim} trading again")
    after_failover = world.placements()
    world.mark(f"failed over: { {pid: after_failover[pid] for pid in lost} }")

    # 5. planned migration of one portfolio between the survivors
    source = survivors[0]
    target = survivors[1]
    moving = next(pid for pid, (node, _) in sorted(after_failover.items()) if node == source)
    before_epoch = after_failover[moving][1]
    migrated = cluster.cli(["portfolio", "migrate", moving, "--to", target, "--json", "--timeout", "30"])
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    result = json.loads(migrated.stdout)
    assert result["ok"] and result["target"] == target and result["epoch"] == before_epoch + 1, result
    assert world.placements()[moving] == (target, before_epoch + 1)
    wait_until(lambda: world.trades_at(moving, target, before_epoch + 1), FAILOVER_TIMEOUT, f"{moving} on {target}")
    world.mark(f"migrated {moving} {source} -> {target}: {result}")

    # 6. the killed node comes back under the same id
    restarted_ns = time.time_ns()
    comeback = cluster.node(victim)
    try:
        wait_until(lambda: world.alive(victim) or not comeback.alive, START_TIMEOUT, f"{victim} back")
    except TimeoutError:
        raise AssertionError(f"{victim} did not come back:\n{comeback.tail()}") from None
    if not comeback.alive:  # refused while its old claim lived: it must say so, then start once it expired
        assert comeback.process.returncode == 2 and f"node {victim} is already running" in comeback.text()
        wait_until(lambda: world.coord.get(names.node_claim_key(victim)) is None, 10, "old claim expired")
        comeback = cluster.node(victim)
        wait_until(lambda: world.alive(victim), START_TIMEOUT, f"{victim} back")
    # it joined empty; the scheduler rebalances onto it (always with new epochs) until balanced
    wait_until(lambda: world.all_running() and _balanced(world), FAILOVER_TIMEOUT, "rebalanced onto the rejoined node")
    rejoined = {pid: epoch for pid, (node, epoch) in world.placements().items() if node == victim}
    world.mark(f"{victim} back (pid {comeback.process.pid}), rebalanced onto it: {rejoined}")
    for pid, epoch in rejoined.items():
        assert epoch > after_failover[pid][1]
    wait_until(
        lambda: any(world.trades_at(pid, victim, epoch) for pid, epoch in rejoined.items()),
        FAILOVER_TIMEOUT,
        f"{victim} trading its new placements",
    )

    # 7. settle: no more placements, no new orders, every market order final, then no market data
    world.mark(f"{victim} trades again")
    assert cluster.procs["scheduler"].stop() == 0
    world.mark("scheduler stopped")
    with open_ops(cluster.backends.settings(), with_bus=True) as operator:  # what `livecore node pause` calls
        for node_id in NODES:
            outcome = node_pause(operator, node_id)
            assert outcome.ok, outcome
    world.mark("nodes paused")
    try:
        wait_until(lambda: _settled(world), SETTLE_TIMEOUT, "market orders final, views equal to the journal")
    except TimeoutError:
        raise AssertionError(f"not settled: {_unsettled(world)}") from None
    world.mark("paused and settled")
    assert cluster.procs["feed"].stop() == 0
    views = _stable_views(world, cluster.timings.heartbeat_interval)
    _assert_books(views, world.pids, "view")

    for pid in world.pids:
        journal = world.journal(pid)
        _assert_executed_once(pid, journal)
        _assert_no_stale_fill(pid, journal)
    for pid, old_epoch in lost.items():
        _assert_killed_epoch_fenced(pid, world.journal(pid), victim, old_epoch)
    for entry in world.store.journal.orders():
        if entry.order.node_id == victim and entry.received_ns > restarted_ns:
            assert entry.order.epoch > after_failover[entry.order.portfolio_id][1], entry.order

    for node_id in NODES:
        assert cluster.procs[node_id].stop() == 0, cluster.procs[node_id].tail()
    _assert_books(check_snapshots(world.store), world.pids, "snapshot")
    world.mark(f"books equal the journal; {_fills_total(views)} fills, {len(world.store.journal.orders())} orders")
    assert cluster.procs["gateway"].stop() == 0


def _balanced(world: World) -> bool:
    counts = Counter(node for node, _ in world.placements().values())
    loads = [counts.get(n, 0) for n in NODES]
    return max(loads) - min(loads) <= 1


def _settled(world: World) -> bool:
    if any(world.journal(pid).open_market_orders() for pid in world.pids):
        return False
    for pid in world.pids:
        raw = world.coord.get(names.portfolio_view_key(pid))
        if raw is None or json.loads(raw)["open_orders"]:
            return False
    checks = check_views(world.store, world.coord, world.pids)
    return len(checks) == PORTFOLIOS and all(c.matches for c in checks)


def _unsettled(world: World) -> dict[str, object]:
    """What keeps the books from settling, for the failure message."""
    open_orders = {pid: world.journal(pid).open_market_orders() for pid in world.pids}
    checks = check_views(world.store, world.coord, world.pids)
    return {
        "open_market_orders": {pid: ids for pid, ids in open_orders.items() if ids},
        "without_view": sorted(set(world.pids) - {c.portfolio_id for c in checks}),
        "mismatches": [c for c in checks if not c.matches],
    }


def _stable_views(world: World, heartbeat: float) -> list[BooksCheck]:
    """The views published a heartbeat later still agree with the first ones and the journal."""
    first = check_views(world.store, world.coord, world.pids)
    since = time.monotonic()
    latest: list[BooksCheck] = first

    def a_beat_later_the_same() -> bool:
        nonlocal latest
        latest = check_views(world.store, world.coord, world.pids)
        return time.monotonic() - since > 1.5 * heartbeat and latest == first

    wait_until(a_beat_later_the_same, SETTLE_TIMEOUT, "views stable over a heartbeat", interval=0.2)
    return latest


def _fills_total(checks: list[BooksCheck]) -> int:
    return sum(c.journal_fills for c in checks)


def _assert_books(checks: list[BooksCheck], pids: list[str], source: str) -> None:
    by_id = {c.portfolio_id: c for c in checks}
    assert sorted(by_id) == sorted(pids)
    wrong = [c for c in checks if not c.matches or c.source != source]
    assert wrong == [], wrong
    assert all(c.journal_fills > 0 for c in checks), [c.portfolio_id for c in checks if c.journal_fills == 0]


def _assert_executed_once(pid: str, journal: PortfolioJournal) -> None:
    """One journal row per client order id, at most one acceptance and one final
    outcome per order, fills never beyond the quantity, fill ids unique."""
    ids = [o.order.client_order_id for o in journal.orders]
    assert len(ids) == len(set(ids)), f"{pid}: duplicate order rows"
    quantity = {o.order.client_order_id: o.order.quantity for o in journal.orders}
    accepted = Counter(fb.client_order_id for fb in journal.feedback if fb.status is FeedbackStatus.ACCEPTED)
    final = Counter(
        fb.client_order_id
        for fb in journal.feedback
        if fb.status in (FeedbackStatus.FILLED, FeedbackStatus.REJECTED, FeedbackStatus.CANCELLED)
    )
    assert max(accepted.values(), default=0) <= 1 and max(final.values(), default=0) <= 1, pid
    filled: dict[str, Decimal] = defaultdict(Decimal)
    fill_ids = []
    for _, fb in journal.fills():
        assert fb.fill_qty is not None
        filled[fb.client_order_id] += fb.fill_qty
        fill_ids.append(fb.fill_id)
    assert len(fill_ids) == len(set(fill_ids)), f"{pid}: a fill id journaled twice"
    over = {cid: qty for cid, qty in filled.items() if qty > quantity[cid]}
    assert over == {}, f"{pid}: filled beyond the quantity: {over}"


def _assert_no_stale_fill(pid: str, journal: PortfolioJournal) -> None:
    """In journal order, once an order of epoch E was accepted (so the fence had
    reached E), no order of an older epoch is ever filled."""
    epoch_of = {o.order.client_order_id: o.order.epoch for o in journal.orders}
    newest = -1
    for fb in journal.feedback:
        epoch = epoch_of.get(fb.client_order_id)
        if epoch is None:
            continue
        if fb.status in FILL_STATUSES:
            assert epoch >= newest, f"{pid}: {fb.client_order_id} (epoch {epoch}) filled after epoch {newest} traded"
        if fb.status is FeedbackStatus.ACCEPTED or fb.status in FILL_STATUSES:
            newest = max(newest, epoch)


def _assert_killed_epoch_fenced(pid: str, journal: PortfolioJournal, victim: str, old_epoch: int) -> None:
    """Nothing the killed node sent at its old epoch is filled after the new owner's
    first order was accepted."""
    epoch_of = {o.order.client_order_id: (o.order.node_id, o.order.epoch) for o in journal.orders}
    first_new = next(
        (
            seq
            for seq, fb in zip(journal.seqs, journal.feedback, strict=True)
            if fb.status is FeedbackStatus.ACCEPTED and epoch_of.get(fb.client_order_id, ("", 0))[1] > old_epoch
        ),
        None,
    )
    assert first_new is not None, f"{pid}: no order accepted after epoch {old_epoch}"
    late = [
        fb.client_order_id
        for seq, fb in journal.fills()
        if seq > first_new and epoch_of.get(fb.client_order_id) == (victim, old_epoch)
    ]
    assert late == [], f"{pid}: orders of {victim} at stale epoch {old_epoch} filled after failover: {late}"
