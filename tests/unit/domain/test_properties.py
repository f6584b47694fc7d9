"""Property tests: money is conserved, fills apply once, restore is invisible.

The stateful machine drives two portfolios with the same random interleaving
of market events, signals, deliveries, execution reports (fills, partial fills,
over-fills, rejects, cancels, unknown orders), redeliveries, trading switches
and reconciliations. ``ref`` is never restored; ``twin`` is replaced by
``restore(snapshot(twin))`` at random points. After every step:

- both give identical snapshots, outboxes and feedback results (restore is invisible);
- the books identity holds exactly for both:
  ``cash + reserved + sum(position.cost) == initial + realized - commissions``;
- ``equity == initial + realized - commissions + unrealized``;
- an independent model of the applied fills agrees: ``cash + reserved ==
  initial - sum(signed qty * price) - sum(commission)`` and every position equals
  the sum of its signed fills (no money or quantity created or destroyed, every
  fill applied exactly once);
- reservations equal what the open orders hold; nothing reserves when nothing is open;
- no order is filled beyond its quantity; long-only portfolios never go short.

The ``failover`` rule restores an *older* snapshot of ``ref`` at the next epoch
on another node and reconciles it with the journal (every order the gateway
got, every report it sent): its money and positions must equal ``ref``'s.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from livecore.domain import FeedbackResult, Portfolio, Signal
from livecore.domain.books import Books
from livecore.wire.messages import CancelOrder, FeedbackStatus, NewOrder, OrderFeedback, Side, Tick
from tests.unit.domain.helpers import NS, PID, Scripted, scripted_spec

D = Decimal
SYMBOLS = ["AAPL", "MSFT"]
prices = st.integers(100, 50_000).map(lambda c: D(c) / 100)
quantities = st.integers(1, 30).map(D)
commissions = st.integers(0, 300).map(lambda c: D(c) / 100)

signals = st.one_of(
    st.none(),
    st.builds(
        lambda sym, q, limit, force: Signal.target(sym, q, limit_price=limit, force=force),
        st.sampled_from(SYMBOLS),
        st.integers(-30, 30).map(D),
        st.one_of(st.none(), prices),
        st.booleans(),
    ),
    st.builds(Signal.long, st.sampled_from(SYMBOLS)),
    st.builds(Signal.short, st.sampled_from(SYMBOLS)),
    st.builds(Signal.flat, st.sampled_from(SYMBOLS)),
    st.builds(Signal.cancel_open, st.sampled_from(SYMBOLS)),
)


def strategy_of(p: Portfolio) -> Scripted:
    s = p.strategy
    assert isinstance(s, Scripted)
    return s


class PortfolioMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.orders: list[NewOrder] = []
        self.sent: list[OrderFeedback] = []
        self.fill_seq = 0
        self.ts = 0
        self.cash_flow = D(0)
        self.model_positions: dict[str, Decimal] = defaultdict(D)
        self.filled: dict[str, Decimal] = defaultdict(D)
        self.delivered: set[str] = set()
        self.snap: bytes | None = None

    @initialize(allow_short=st.booleans(), cash=st.sampled_from(["1000", "100000"]))
    def start(self, allow_short: bool, cash: str) -> None:
        extra = f"allow_short = {'true' if allow_short else 'false'}"
        self.spec = scripted_spec(extra=extra, cash=cash)
        self.allow_short = allow_short
        self.initial = D(cash)
        self.ref = Portfolio.create(self.spec, 1, "n1")
        self.twin = Portfolio.create(self.spec, 1, "n1")

    def both(self) -> tuple[Portfolio, Portfolio]:
        return self.ref, self.twin

    # --- market and signals -------------------------------------------------------

    @rule(symbol=st.sampled_from(SYMBOLS), price=prices, signal=signals)
    def market(self, symbol: str, price: Decimal, signal: Signal | None) -> None:
        self.ts += NS
        tick = Tick(symbol=symbol, ts_ns=self.ts, price=price)
        for p in self.both():
            if signal is not None:
                strategy_of(p).queue.append(signal)
            p.on_market(tick)
        out_ref, out_twin = self.ref.drain_outbox(), self.twin.drain_outbox()
        assert out_ref == out_twin
        event(f"requests per event: {len(out_ref)}")
        for request in out_ref:
            if isinstance(request, NewOrder):
                self.orders.append(request)
            else:
                assert isinstance(request, CancelOrder)

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.orders))
        for p in self.both():
            p.mark_submitted(order.client_order_id)
        self.delivered.add(order.client_order_id)

    # --- execution reports ----------------------------------------------------------

    def send(self, fb: OrderFeedback) -> FeedbackResult:
        before = self.ref.books.cash + self.ref.books.reserved
        r1, r2 = self.ref.on_feedback(fb), self.twin.on_feedback(fb)
        assert r1 is r2
        event(f"{fb.status}: {r1}")
        if r1 is FeedbackResult.APPLIED and fb.fill_qty is not None and fb.fill_price is not None:
            signed = fb.fill_qty if fb.side is Side.BUY else -fb.fill_qty
            self.cash_flow -= signed * fb.fill_price + fb.commission
            self.model_positions[fb.symbol] += signed
            self.filled[fb.client_order_id] += fb.fill_qty
        elif r1 is not FeedbackResult.APPLIED:
            assert self.ref.books.cash + self.ref.books.reserved == before
        self.sent.append(fb)
        return r1

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), price=prices, commission=commissions, extra=st.integers(0, 3), final=st.booleans())
    def fill(self, data: st.DataObject, price: Decimal, commission: Decimal, extra: int, final: bool) -> None:
        order = data.draw(st.sampled_from(self.orders))
        remaining = order.quantity - self.filled[order.client_order_id]
        qty = data.draw(st.integers(1, max(int(remaining), 1) + extra).map(D))
        self.fill_seq += 1
        done = qty >= remaining or final
        result = self.send(
            OrderFeedback(
                status=FeedbackStatus.FILLED if done else FeedbackStatus.PARTIALLY_FILLED,
                client_order_id=order.client_order_id,
                portfolio_id=PID,
                epoch=order.epoch,
                symbol=order.symbol,
                side=order.side,
                fill_id=f"f{self.fill_seq}",
                fill_qty=qty,
                fill_price=price,
                cumulative_qty=self.filled[order.client_order_id] + qty,
                commission=commission,
                ts_ns=self.ts,
            )
        )
        if qty > remaining:
            assert result is FeedbackResult.REFUSED

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), kind=st.sampled_from(["accepted", "rejected", "cancelled"]))
    def report(self, data: st.DataObject, kind: str) -> None:
        order = data.draw(st.sampled_from(self.orders))
        self.send(
            OrderFeedback(
                status=FeedbackStatus(kind),
                client_order_id=order.client_order_id,
                portfolio_id=PID,
                epoch=order.epoch,
                symbol=order.symbol,
                reason="test" if kind == "rejected" else None,
                ts_ns=self.ts,
            )
        )

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        fb = data.draw(st.sampled_from(self.sent))
        books = msgspec.json.encode(self.ref.books)
        result = self.send(fb)
        if fb.fill_id is not None:
            assert result is not FeedbackResult.APPLIED  # a fill never applies twice
        if result is not FeedbackResult.APPLIED:
            assert msgspec.json.encode(self.ref.books) == books

    @rule(price=prices)
    def unknown_order(self, price: Decimal) -> None:
        self.fill_seq += 1
        stray = OrderFeedback(
            status=FeedbackStatus.FILLED,
            client_order_id=f"{PID}-9-{self.fill_seq}",
            portfolio_id=PID,
            epoch=9,
            fill_id=f"stray{self.fill_seq}",
            fill_qty=D(1),
            fill_price=price,
        )
        assert self.send(stray) is FeedbackResult.UNKNOWN_ORDER

    # --- host actions -----------------------------------------------------------------

    @rule()
    def restore_twin(self) -> None:
        enabled = self.twin.trading_enabled
        self.twin = Portfolio.restore(self.twin.snapshot(), self.spec, 1, "n1")
        self.twin.set_trading_enabled(enabled)  # the host's switch, not the snapshot's

    @rule(enabled=st.booleans())
    def switch(self, enabled: bool) -> None:
        for p in self.both():
            p.set_trading_enabled(enabled)

    @rule()
    def reconcile(self) -> None:
        journal_feedback = [fb for fb in self.sent if fb.client_order_id in {o.client_order_id for o in self.orders}]
        r1 = self.ref.reconcile(self.orders, journal_feedback)
        r2 = self.twin.reconcile(self.orders, journal_feedback)
        assert r1 == r2
        assert r1.applied == 0 and r1.adopted == []  # nothing new: both already hold everything

    @rule()
    def take_snapshot(self) -> None:
        self.snap = self.ref.snapshot()

    @precondition(lambda self: self.snap is not None)
    @rule()
    def failover(self) -> None:
        assert self.snap is not None
        known = {o.client_order_id for o in self.orders}
        journal_feedback = [fb for fb in self.sent if fb.client_order_id in known]
        reported = {fb.client_order_id for fb in journal_feedback}
        journal_orders = [o for o in self.orders if o.client_order_id in self.delivered | reported]
        other = Portfolio.restore(self.snap, self.spec, 2, "n2")
        report = other.reconcile(journal_orders, journal_feedback)
        event(f"failover: adopted {min(len(report.adopted), 3)}+, expired {min(len(report.expired), 3)}+")
        a, b = other.books, self.ref.books
        assert a.identity_gap() == 0
        assert a.cash + a.reserved == b.cash + b.reserved
        assert (a.realized_pnl, a.commissions) == (b.realized_pnl, b.commissions)
        assert {k: (p.quantity, p.cost) for k, p in a.positions.items() if p.quantity} == {
            k: (p.quantity, p.cost) for k, p in b.positions.items() if p.quantity
        }

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def restore_is_invisible(self) -> None:
        if hasattr(self, "ref"):
            assert self.ref.snapshot() == self.twin.snapshot()

    @invariant()
    def money_is_conserved(self) -> None:
        if not hasattr(self, "ref"):
            return
        b: Books = self.ref.books
        assert b.identity_gap() == 0
        assert b.equity() == b.initial_cash + b.realized_pnl - b.commissions + b.unrealized_pnl()
        assert b.cash + b.reserved == self.initial + self.cash_flow
        for symbol in SYMBOLS:
            assert b.position_qty(symbol) == self.model_positions[symbol]
            if not self.allow_short:
                assert b.position_qty(symbol) >= 0

    @invariant()
    def reservations_match_open_orders(self) -> None:
        if not hasattr(self, "ref"):
            return
        view = self.ref.view()
        assert view.reserved == sum((o.reserved_cash for o in view.open_orders), D(0))
        assert view.reserved >= 0
        for symbol in SYMBOLS:
            held = sum((o.reserved_qty for o in view.open_orders if o.symbol == symbol), D(0))
            position = self.ref.books.positions.get(symbol)
            assert (position.reserved_qty if position else D(0)) == held
        for o in view.open_orders:
            assert D(0) <= o.filled_qty < o.quantity


PortfolioMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPortfolioMachine = PortfolioMachine.TestCase


# --- books alone -------------------------------------------------------------------------

fills = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 10_000).map(lambda q: D(q) / 1000),
        st.integers(1, 10**8).map(lambda c: D(c) / 10**4),
        st.integers(0, 10**4).map(lambda c: D(c) / 10**4),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(fills=fills, marks=st.lists(st.tuples(st.sampled_from(SYMBOLS), prices), max_size=5))
def test_books_identity_on_random_fills_with_shorts_and_flips(
    fills: list[tuple[str, Side, Decimal, Decimal, Decimal]], marks: list[tuple[str, Decimal]]
) -> None:
    b = Books.opening(D(10**6))
    signed: dict[str, Decimal] = defaultdict(D)
    flow = D(0)
    for symbol, side, qty, price, commission in fills:
        b.apply_fill(symbol, side, qty, price, commission)
        s = qty if side is Side.BUY else -qty
        signed[symbol] += s
        flow -= s * price + commission
        assert b.identity_gap() == 0
    for symbol, price in marks:
        b.mark(symbol, price, 0)
    assert b.cash == D(10**6) + flow
    assert {k: v for k, v in signed.items() if v} == {k: p.quantity for k, p in b.positions.items()}
    assert b.equity() == b.initial_cash + b.realized_pnl - b.commissions + b.unrealized_pnl()


# --- built-in strategies on random paths -----------------------------------------------------

BUILTINS = {
    "ma_crossover": "fast = 2, slow = 5",
    "breakout": "lookback = 4, exit_lookback = 2",
    "bollinger": "window = 5, num_std = 1",
    "buy_and_hold": "",
}


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(BUILTINS)),
    path=st.lists(st.tuples(st.sampled_from(SYMBOLS), prices), min_size=1, max_size=80),
    cut=st.integers(0, 80),
)
def test_builtins_never_fault_short_or_diverge_after_restore(
    name: str, path: list[tuple[str, Decimal]], cut: int
) -> None:
    from tests.unit.domain.helpers import spec

    s = spec(name, BUILTINS[name], symbols='["AAPL", "MSFT"]')
    ref = Portfolio.create(s, 1, "n1")
    twin = Portfolio.create(s, 1, "n1")
    for i, (symbol, price) in enumerate(path):
        if i == cut:
            twin = Portfolio.restore(twin.snapshot(), s, 1, "n1")
        tick = Tick(symbol=symbol, ts_ns=i * NS, price=price)
        for p in (ref, twin):
            p.on_market(tick)
        out = ref.drain_outbox()
        assert out == twin.drain_outbox()
        for order in out:
            assert isinstance(order, NewOrder)
            fb = OrderFeedback(
                status=FeedbackStatus.FILLED,
                client_order_id=order.client_order_id,
                portfolio_id=PID,
                epoch=1,
                symbol=symbol,
                side=order.side,
                fill_id=order.client_order_id,
                fill_qty=order.quantity,
                fill_price=price,
                commission=D(1),
            )
            assert ref.on_feedback(fb) is twin.on_feedback(fb) is FeedbackResult.APPLIED
        assert not ref.faulted
        assert ref.books.identity_gap() == 0
        assert all(p.quantity > 0 for p in ref.books.positions.values())
    assert ref.snapshot() == twin.snapshot()
