"""No fill lost or applied twice across a crash at any step of the feedback path
(DESIGN invariant 3), on SQLite and on PostgreSQL.

The node's own code runs each step: a ``PortfolioProcessor`` applies each
record and saves snapshots into the real store, at most one per
``feedback_snapshot_interval_s`` (``DeferredSnapshots`` asks for the put-off
ones), and the ``OffsetTracker`` decides what may be committed. A simulated
gateway journals every order and report before it publishes them on a list
that stands for the ``orders.feedback`` partition. The node "crashes" (its
memory is lost; the store, the topic and the committed offset remain) at one
step boundary of one record: consumed, applied, snapshot saved (or put off),
offset committed (between two parts of an order's fills, too: the gateway
publishes one report per two turns). The next owner does what ``portfolio.load`` does: restore the
latest snapshot at a new epoch, reconcile with the journal, save a snapshot;
then it consumes from the committed offset. Every boundary of every record is
tried, and each time the books must equal the journal's recomputation, and the
snapshot must hold every journaled fill.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest

from livecore.adapters.sql_store import SqlStore
from livecore.domain import Portfolio, parse_spec
from livecore.domain.snapshot import decode_state
from livecore.domain.spec import PortfolioSpec
from livecore.domain.view import EquitySample
from livecore.gateway.journal_books import recompute_books
from livecore.node.deferred import DeferredSnapshots
from livecore.node.feedback import OffsetTracker
from livecore.node.mailbox import FeedbackItem, FeedbackTicket, MarketSlot
from livecore.node.processor import Order, PortfolioProcessor
from livecore.ops.books import missing_fills
from livecore.ports.bus import Record
from livecore.testing.strategies import spec_toml
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Tick

TOPIC = "orders.feedback"
SYMBOL = "AAA"
ORDERS = 3
RECORDS = 3 * ORDERS  # accepted, partially filled, filled
MAX_TURNS = 60
INTERVAL = 1.0  # feedback_snapshot_interval_s
STEP_S = 0.3  # the clock moves this much per turn: some snapshots are put off, some not


class Crash(Exception):
    """The process dies here."""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class StoreHost:
    """The node around a processor, writing snapshots to the real store."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.sent: list[Order] = []
        self.deferred = DeferredSnapshots()

    def schedule(self, processor: PortfolioProcessor) -> None:
        """The test runs the batches itself."""

    def send_orders(self, processor: PortfolioProcessor, orders: list[Order], received_ns: int | None) -> None:
        self.sent += orders

    def save_snapshot(self, processor: PortfolioProcessor, data: bytes) -> bool:
        self.store.snapshots.save(processor.portfolio_id, processor.epoch, data, time.time_ns())
        return True

    def record_equity(self, processor: PortfolioProcessor, sample: EquitySample) -> None:
        """Not part of this path."""

    def tickets_done(self, tickets: list[FeedbackTicket]) -> None:
        for ticket in tickets:
            ticket.done = True

    def defer_snapshot(self, processor: PortfolioProcessor) -> None:
        self.deferred.defer(processor)

    def universe_changed(self, processor: PortfolioProcessor, symbols: frozenset[str]) -> None:
        """One symbol, never changed."""


class Owner:
    """One owner of the portfolio at one epoch, built as ``portfolio.load`` builds it."""

    def __init__(self, store: SqlStore, spec: PortfolioSpec, epoch: int, clock: Clock) -> None:
        stored = store.snapshots.latest(spec.id)
        if stored is None:
            portfolio = Portfolio.create(spec, epoch, f"node-{epoch}")
        else:
            portfolio = Portfolio.restore(stored.data, spec, epoch, f"node-{epoch}")
        orders = [entry.order for entry in store.journal.orders(spec.id)]
        portfolio.reconcile(orders, [entry.feedback for entry in store.journal.feedback(spec.id)])
        self.portfolio = portfolio
        self.host = StoreHost(store)
        self.processor = PortfolioProcessor(
            portfolio=portfolio, host=self.host, mailbox_size=100, feedback_mailbox_size=100,
            feedback_snapshot_interval_s=INTERVAL, clock=clock,
        )  # fmt: skip
        assert self.processor.persist()  # the load's snapshot at the new epoch
        self.tracker = OffsetTracker(TOPIC)


class Gateway:
    """Journals each report before it publishes it, one report per two turns of the
    node's loop (so a crash can come between two parts of an order's fills)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.pending: list[OrderFeedback] = []
        self.topic: list[OrderFeedback] = []

    def execute(self, order: NewOrder) -> None:
        """Accepted, then filled in two halves."""
        assert self.store.journal.record_order(order, time.time_ns())
        common = {"client_order_id": order.client_order_id, "portfolio_id": order.portfolio_id, "epoch": order.epoch}
        half = order.quantity / 2
        self.pending.append(OrderFeedback(status=FeedbackStatus.ACCEPTED, symbol=order.symbol, ts_ns=1, **common))
        for part, status in enumerate((FeedbackStatus.PARTIALLY_FILLED, FeedbackStatus.FILLED), start=1):
            self.pending.append(
                OrderFeedback(
                    status=status, symbol=order.symbol, side=order.side, fill_id=f"{order.client_order_id}-f{part}",
                    fill_qty=half, fill_price=Decimal("10.5"), cumulative_qty=half * part,
                    commission=Decimal("0.25"), ts_ns=2, **common,
                )
            )  # fmt: skip

    def publish_next(self) -> None:
        if self.pending:
            report = self.pending.pop(0)
            self.store.journal.record_feedback(report)
            self.topic.append(report)


def consume(owner: Owner, gateway: Gateway, committed: int, clock: Clock, crash_at: int | None) -> int:
    """Turns of the feedback loop from ``committed`` until everything published is
    committed; returns the committed offset (the next to read). Raises ``Crash`` at
    step ``crash_at`` (steps: a record consumed, applied; a turn's put-off snapshots
    asked for, its commit)."""
    steps = itertools.count()

    def step() -> None:
        if next(steps) == crash_at:
            raise Crash

    position = committed
    for turn in range(MAX_TURNS):
        if turn % 2 == 0:  # a quiet turn between two reports: the put-off snapshot's time comes
            gateway.publish_next()
        clock.now += STEP_S
        while position < len(gateway.topic):
            ticket = owner.tracker.track(Record(TOPIC, 0, position, None, b"", 0))
            step()  # consumed
            owner.processor.offer_feedback(FeedbackItem(gateway.topic[position], ticket))
            owner.processor.run_batch(100)
            position += 1
            step()  # applied (and saved, unless put off)
        if owner.host.deferred.request_due():
            owner.processor.run_batch(100)
        step()  # a put-off snapshot saved, when due
        for marker in owner.tracker.committable():
            committed = marker.offset + 1
        step()  # committed
        if not gateway.pending and committed == len(gateway.topic):
            return committed
    raise AssertionError(f"not everything committed after {MAX_TURNS} turns")


def place_orders(owner: Owner, gateway: Gateway) -> None:
    for i in range(ORDERS):
        owner.processor.offer_market([MarketSlot(SYMBOL, Tick(symbol=SYMBOL, ts_ns=i, price=Decimal(10)), 0)])
        owner.processor.run_batch(100)
    orders = [o for o in owner.host.sent if isinstance(o, NewOrder)]
    assert len(orders) == ORDERS
    for order in orders:
        gateway.execute(order)


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    opened = SqlStore(db_url)
    try:
        yield opened
    finally:
        opened.close()


# every step of a run: two per record, two per turn (a run has about 2 * RECORDS + 4 turns)
@pytest.mark.parametrize("crash_at", [None, *range(6 * RECORDS + 8)])
def test_no_fill_is_lost_or_applied_twice_whatever_step_the_node_dies_at(store: SqlStore, crash_at: int | None) -> None:
    pid = f"crash-{uuid.uuid4().hex[:8]}"
    # a closed tail of one: fills of orders closed and forgotten are redelivered too
    text = spec_toml(pid, [SYMBOL], strategy="livecore.testing.strategies:EveryTick")
    spec = parse_spec(text + "\n[settings]\nclosed_order_window = 1\n", source="test")
    clock, gateway = Clock(), Gateway(store)
    first = Owner(store, spec, 1, clock)
    place_orders(first, gateway)
    committed = 0
    try:
        committed = consume(first, gateway, committed, clock, crash_at)
        owner = first
    except Crash:
        owner = Owner(store, spec, 2, clock)  # memory lost; the store, topic and committed offset remain
        committed = consume(owner, gateway, committed, clock, None)  # redelivered from the committed offset
    assert committed == len(gateway.topic)
    assert first.host.deferred.asked > 0 or crash_at is not None  # some snapshots were put off
    orders = [entry.order for entry in store.journal.orders(pid)]
    feedback = [entry.feedback for entry in store.journal.feedback(pid)]
    journal = recompute_books(orders, feedback, spec.initial_cash, pid)
    books = owner.portfolio.books
    assert journal.fills == 2 * ORDERS
    assert books.cash + books.reserved == journal.cash
    assert {s: p.quantity for s, p in books.positions.items() if p.quantity} == journal.positions
    assert owner.portfolio.view().fills_count == 2 * ORDERS or crash_at is not None
    stored = store.snapshots.latest(pid)
    assert stored is not None
    assert missing_fills(feedback, decode_state(stored.data)) == []  # the last snapshot holds every fill
