"""livecore on a venue as real processes (Tansu, redis-server, a SQLite journal)
with the Binance simulator in the test process, reached by real ccxt.pro.

- The gateway is killed with SIGKILL while orders rest; the venue fills them
  and an order waits on the bus meanwhile; the restarted gateway reconciles:
  the fills it missed are journaled once, the waiting order sent once, and the
  journal's books equal the venue's own record.
- The whole system (scheduler, two nodes, the gateway on the simulator, the
  live feed from the simulator's public streams) trades crypto portfolios on a
  moving price; at the end every portfolio's books equal the journal, the
  journal's fills are the venue's, and the books per asset move exactly as the
  venue's balances did (``status`` shows no mismatch).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
import redis
from tests.servers import tansu_bus_url, wait_until

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.gateway.journal_books import recompute_books
from livecore.ops.books import check_snapshots, check_views
from livecore.ops.context import Ops, open_ops
from livecore.ops.nodes import node_pause
from livecore.ops.status import status
from livecore.ports.store import Store
from livecore.testing.cluster import Backends, Cluster
from livecore.testing.venue_gateway import KEY, SECRET, sim_settings, venue_fills
from livecore.topology import DEFAULT_LAYOUT, ensure_topics
from livecore.venues.ccxt.credentials import KEY_ENV, SECRET_ENV
from livecore.venues.sim.server import VenueSimServer
from livecore.wire.codec import encode
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderType, Side
from livecore.wire.names import Topics

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.redis, pytest.mark.timeout(600)]

REDIS_DB = 12  # the session's redis-server is shared: this module's own database, emptied first
TIMEOUT = 60.0
ENV = {KEY_ENV: KEY, SECRET_ENV: SECRET}
BTC, ETH = "BTC/USDT", "ETH/USDT"
START = {"BTC": D(1), "ETH": D(10), "USDT": D(100_000)}


@pytest.fixture
def sim() -> Iterator[VenueSimServer]:
    with VenueSimServer(sim_settings(balances=dict(START))) as server:
        yield server


@pytest.fixture
def cluster(kafka_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    coord_url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    client = redis.Redis.from_url(coord_url)
    client.flushdb()
    client.close()
    backends = Backends(
        tansu_bus_url(kafka_url), coord_url, f"sqlite:///{tmp_path / 'livecore.db'}", f"v{uuid.uuid4().hex[:8]}."
    )
    c = Cluster(backends, tmp_path)
    try:
        yield c
    finally:
        c.close()
        print(c.logs())  # shown by pytest when the test failed


def gateway(cluster: Cluster, sim: VenueSimServer, *extra: str) -> None:
    cluster.spawn(
        "gateway",
        [
            "gateway", "--group", f"{cluster.backends.prefix}trade_gateway",
            "--venue", "ccxt:binance", "--sandbox", "--venue-url", sim.url, *extra,
        ],
        env=ENV,
    )  # fmt: skip


def venue_delta(sim: VenueSimServer) -> dict[str, D]:
    """How far each balance of the venue's account moved since the start."""
    now = {asset: h.free + h.locked for asset, h in sim.venue.balances().items()}
    return {a: now.get(a, D(0)) - START.get(a, D(0)) for a in set(now) | set(START) if now.get(a) != START.get(a)}


def journal_delta(store: Store, portfolio_ids: list[str]) -> dict[str, D]:
    """How far the journal's books moved, per asset (cash in the quote, positions in their base)."""
    delta: dict[str, D] = {}
    for pid in portfolio_ids:
        books = recompute_books(
            [o.order for o in store.journal.orders(pid)], [f.feedback for f in store.journal.feedback(pid)], D(0), pid
        )
        delta["USDT"] = delta.get("USDT", D(0)) + books.cash
        for symbol, qty in books.positions.items():
            base = symbol.split("/")[0]
            delta[base] = delta.get(base, D(0)) + qty
        for asset, fee in books.asset_fees.items():
            delta[asset] = delta.get(asset, D(0)) - fee
    return {a: v for a, v in delta.items() if v}


def journal_fills(store: Store) -> dict[str, tuple[D, D, D, str]]:
    out = {}
    for entry in store.journal.feedback():
        fb = entry.feedback
        if fb.fill_id and fb.fill_qty is not None and fb.fill_price is not None:
            out[fb.fill_id] = (fb.fill_qty, fb.fill_price, fb.commission, fb.commission_asset)
    return out


# --- kill -9 and restart -----------------------------------------------------------------


class Orders:
    """Publishes orders on the cluster's bus as a node does; reads outcomes from the journal."""

    def __init__(self, cluster: Cluster, store: Store) -> None:
        self.bus = open_bus(cluster.backends.bus_url)
        topics = Topics(cluster.backends.prefix)
        ensure_topics(self.bus, topics, DEFAULT_LAYOUT)  # as a node does before it sends (no auto-creation)
        self.producer = self.bus.producer()
        self.topic = topics.orders
        self.store = store
        self.seq = 0

    def send(self, side: Side, qty: str, limit: str | None = None) -> NewOrder:
        self.seq += 1
        order = NewOrder(
            client_order_id=f"rs-1-{self.seq}",
            portfolio_id="rs",
            epoch=1,
            node_id="test",
            symbol=BTC,
            side=side,
            quantity=D(qty),
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            limit_price=D(limit) if limit else None,
            created_ns=time.time_ns(),
        )
        self.producer.publish_sync(self.topic, order.portfolio_id, encode(order))
        return order

    def statuses(self, order: NewOrder) -> list[FeedbackStatus]:
        return [e.feedback.status for e in self.store.journal.feedback_for_order(order.client_order_id)]

    def wait(self, order: NewOrder, status: FeedbackStatus, cumulative: str | None = None) -> None:
        def reached() -> bool:
            history = [e.feedback for e in self.store.journal.feedback_for_order(order.client_order_id)]
            seen = [fb for fb in history if fb.status is status]
            return bool(seen) and (cumulative is None or seen[-1].cumulative_qty == D(cumulative))

        wait_until(reached, TIMEOUT, f"{order.client_order_id} {status.value} {cumulative or ''}")

    def close(self) -> None:
        self.producer.close(5.0)
        self.bus.close()


def test_gateway_kill_9_and_restart_reconciles_with_the_venue(cluster: Cluster, sim: VenueSimServer) -> None:
    store = open_store(cluster.backends.db_url)
    orders = Orders(cluster, store)
    try:
        gateway(cluster, sim, "--no-require-fence")
        bought = orders.send(Side.BUY, "0.01")
        resting_buy = orders.send(Side.BUY, "0.03", "49000")
        resting_sell = orders.send(Side.SELL, "0.02", "51000")
        orders.wait(bought, FeedbackStatus.FILLED)
        orders.wait(resting_sell, FeedbackStatus.ACCEPTED)
        sim.venue.trade(BTC, "49000", "0.01")
        orders.wait(resting_buy, FeedbackStatus.PARTIALLY_FILLED, "0.01")

        cluster.procs["gateway"].kill()  # SIGKILL to its process group
        sim.venue.trade(BTC, "49000", "0.02")  # the resting buy fills while nobody listens
        sim.venue.trade(BTC, "51000", "0.005")  # the resting sell fills in part
        waiting = orders.send(Side.SELL, "0.005")  # an order waits on the bus

        gateway(cluster, sim, "--no-require-fence")
        orders.wait(resting_buy, FeedbackStatus.FILLED)
        orders.wait(resting_sell, FeedbackStatus.PARTIALLY_FILLED, "0.005")
        orders.wait(waiting, FeedbackStatus.FILLED)
        wait_until(lambda: journal_fills(store) == venue_fills(sim), TIMEOUT, "the journal's fills are the venue's")
        assert len(sim.venue.orders()) == 4  # nothing sent twice
        assert orders.statuses(resting_buy) == [  # the fill it missed, once
            FeedbackStatus.ACCEPTED,
            FeedbackStatus.PARTIALLY_FILLED,
            FeedbackStatus.FILLED,
        ]
        assert journal_delta(store, ["rs"]) == venue_delta(sim)
        assert cluster.procs["gateway"].stop() == 0
    finally:
        orders.close()
        store.close()


# --- the whole system ---------------------------------------------------------------------


def spec(pid: str, symbol: str, quantity: str, lot: str) -> str:
    return (
        f'id = "{pid}"\nname = "venue {pid}"\ncurrency = "USDT"\ninitial_cash = 2000\n'
        f'symbols = ["{symbol}"]\n\n[strategy]\nclass = "ma_crossover"\nparams = {{ fast = 2, slow = 4 }}\n\n'
        f'[sizer]\nclass = "fixed"\nparams = {{ quantity = {quantity}, lot_size = {lot} }}\n'
    )


PORTFOLIOS = {
    "vb-1": (BTC, "0.002", "0.00001"),
    "vb-2": (BTC, "0.001", "0.00001"),
    "ve-1": (ETH, "0.05", "0.0001"),
}


class PricePath:
    """Prints a random walk on the simulator's tape for each symbol until stopped."""

    def __init__(self, sim: VenueSimServer) -> None:
        self._sim = sim
        self._stop = threading.Event()
        self._rng = random.Random(7)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.prints = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        prices = {BTC: 50_000, ETH: 3_000}
        while not self._stop.wait(0.05):
            for symbol, price in prices.items():
                step = max(price // 500, 1)
                prices[symbol] = price + self._rng.choice((-2, -1, 1, 2)) * step
                self._sim.venue.trade(symbol, str(prices[symbol]), "0.001")
                self.prints += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_the_whole_system_on_the_venue_and_the_books_equal_its_record(
    cluster: Cluster, sim: VenueSimServer, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for pid, (symbol, qty, lot) in PORTFOLIOS.items():
        (specs / f"{pid}.toml").write_text(spec(pid, symbol, qty, lot))
    deployed = cluster.cli(["portfolio", "deploy", *(str(p) for p in sorted(specs.glob("*.toml")))])
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    store = open_store(cluster.backends.db_url)
    coord = open_coordination(cluster.backends.coord_url)
    ops = Ops(coord, store)
    path = PricePath(sim)
    try:
        gateway(cluster, sim)
        cluster.scheduler()
        for node in ("n1", "n2"):
            cluster.node(node)
        wait_until(
            lambda: sum(p.state == "running" for p in status(ops).portfolios) == len(PORTFOLIOS),
            TIMEOUT,
            "every portfolio running",
        )
        cluster.spawn("feed", ["feed", "ccxt:binance", "--symbols", f"{BTC},{ETH}", "--trades", "--venue-url", sim.url])
        path.start()
        try:
            wait_until(lambda: len(sim.venue.fills()) >= 12, 120.0, "a dozen fills at the venue")
        except TimeoutError:
            report = status(ops)
            print([(n.node_id, n.total_events, n.problems) for n in report.nodes], path.prints)
            print([(p.portfolio_id, p.state, p.cash, p.positions, p.fault) for p in report.portfolios])
            raise
        for pid in PORTFOLIOS:
            wait_until(lambda pid=pid: bool(store.journal.orders(pid)), TIMEOUT, f"{pid} trading")

        assert cluster.procs["scheduler"].stop() == 0  # nothing moves while the books are checked
        with open_ops(cluster.backends.settings(), with_bus=True) as operator:  # `livecore node pause`
            for node in ("n1", "n2"):
                outcome = node_pause(operator, node)
                assert outcome.ok, outcome
        path.stop()
        wait_until(lambda: not store.journal.open_orders(), TIMEOUT, "every order final")
        wait_until(lambda: journal_fills(store) == venue_fills(sim), TIMEOUT, "the journal's fills are the venue's")
        assert journal_delta(store, list(PORTFOLIOS)) == venue_delta(sim)

        def books_settled() -> bool:
            checks = check_views(store, coord, list(PORTFOLIOS))
            return len(checks) == len(PORTFOLIOS) and all(c.matches for c in checks)

        wait_until(books_settled, TIMEOUT, "every portfolio's live books equal the journal")

        def venue_matches() -> bool:
            accounts = status(ops).venues
            return len(accounts) == 1 and not accounts[0].mismatch and accounts[0].age_s < 5

        wait_until(venue_matches, TIMEOUT, "status: the venue's balances beside the books, no mismatch")
        for name in ("feed", "n1", "n2", "gateway"):
            assert cluster.procs[name].stop() == 0, name
        checks = check_snapshots(store, settle_s=0.0)
        assert all(c.status == "OK" for c in checks), [(c.portfolio_id, c.status) for c in checks]
    finally:
        path.stop()
        store.close()
        coord.close()
