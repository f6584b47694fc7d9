"""Takes a decoded wire message through everything that handles it downstream:
the gateway journal (a real SqlStore), the paper broker and its cost model, the
domain books and a Portfolio. Any exception escapes to the test; the documented
refusals (``CommandRejected``, a risk veto, a cancelled unfillable order) are
results and are counted."""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal as D

import msgspec

from livecore.adapters.sql_store import SqlStore
from livecore.domain import FeedbackResult, Portfolio, Signal
from livecore.domain.books import Books
from livecore.gateway.costs import CostModel
from livecore.gateway.paper import PaperBroker, PaperSettings
from livecore.wire import bounds, codec
from livecore.wire import messages as m
from livecore.wire.signing import CommandRejected, CommandSigner, CommandVerifier
from tests.unit.domain.helpers import scripted_spec

SECRET = "property-secret"
NS = 1_000_000_000
NOW = 1_700_000_000 * NS
HUGE_CASH = "1e40"
SPEC = scripted_spec(cash=HUGE_CASH, extra="allow_short = true", symbols='["AAPL"]')
PERCENT_SPEC = scripted_spec(
    cash=HUGE_CASH,
    extra="allow_short = true",
    symbols='["AAPL"]',
    sizer='class = "percent_equity"\nparams = { percent = 100, lot_size = 0.000000000001 }',
)
COSTLY = PaperSettings(
    costs=CostModel(
        slippage_bps=D(25),
        commission_per_share=D("0.005"),
        commission_bps=D(1),
        commission_min=D(1),
        price_quantum=D("1e-12"),
        commission_quantum=D("0.01"),
    ),
    participation=D("0.5"),
    quantity_step=D("1e-12"),
)
_epochs = itertools.count(1)


def round_trip(message: msgspec.Struct, decoder: codec.Decoder[object]) -> None:
    """What a component sends must decode at its peer, unchanged."""
    assert decoder.decode(codec.encode(message)) == message


class Exerciser:
    """One per test: a store, and counts of what each path did."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.seen: Counter[str] = Counter()

    # --- per message type -----------------------------------------------------------

    def market_event(self, event: m.Tick | m.Bar) -> None:
        self.seen["event"] += 1
        aapl = msgspec.structs.replace(event, symbol="AAPL")
        for spec in (SPEC, PERCENT_SPEC):
            portfolio = self._portfolio(spec)
            portfolio.on_market(event)
            portfolio.strategy.queue.append(Signal.long("AAPL"))  # type: ignore[attr-defined]
            portfolio.on_market(aapl)
            for order in self._new_orders(portfolio):
                self._fill_on(order, [aapl])
            self._check(portfolio)
        for order in _resting_orders(event.symbol, event.price, event.ts_ns):
            for settings in (PaperSettings(), COSTLY):
                self._through_paper(order, [event], settings)

    def new_order(self, order: m.NewOrder) -> None:
        self.seen["order"] += 1
        self._journal_order(order)
        price = order.limit_price if order.limit_price is not None else D(100)
        events: list[m.Tick | m.Bar] = [
            m.Tick(symbol=order.symbol, ts_ns=order.created_ns, price=price, size=order.quantity),
            m.Bar(
                symbol=order.symbol,
                ts_ns=order.created_ns,
                open=bounds.MAX_PRICE - D("1e-12"),
                high=bounds.MAX_PRICE - D("1e-12"),
                low=D("1e-12"),
                close=D("1e-12"),
                volume=order.quantity,
            ),
        ]
        for settings in (PaperSettings(), COSTLY):
            self._through_paper(order, events, settings)

    def cancel_order(self, cancel: m.CancelOrder) -> None:
        self.seen["cancel"] += 1
        order = m.NewOrder(
            client_order_id=cancel.client_order_id,
            portfolio_id=cancel.portfolio_id,
            epoch=cancel.epoch,
            node_id=cancel.node_id,
            symbol="AAPL",
            side=m.Side.BUY,
            quantity=D(1),
            created_ns=cancel.created_ns,
        )
        self._journal_order(order)
        broker = PaperBroker()
        broker.submit(order, cancel.created_ns)
        broker.cancel(cancel.client_order_id, cancel.created_ns)
        self._reports(broker)

    def feedback(self, fb: m.OrderFeedback) -> None:
        self.seen["feedback"] += 1
        self.store.journal.record_feedback(fb)
        portfolio = self._portfolio(SPEC)
        portfolio.on_feedback(fb)  # another portfolio's or an unknown order: a result
        self._check(portfolio)
        if fb.status in m.FILL_STATUSES:
            self.book(fb)
            order = _order_like(fb)
            PaperBroker().restore(order, [fb])

    def command(self, command: m.ScheduleCommand) -> None:
        self.seen["command"] += 1
        verifier = CommandVerifier(SECRET, clock=lambda: NOW)
        for candidate in (command, CommandSigner(SECRET).sign(command)):
            try:
                verifier.verify(candidate)
                self.seen["command accepted"] += 1
            except CommandRejected as exc:
                self.seen[f"command {exc.reason}"] += 1
        detail = {"command": command.command, "portfolio_id": command.portfolio_id, "params": command.params}
        self.store.audit.record("node", "command.received", detail, ts_ns=command.issued_at_ns)

    # --- shared steps -------------------------------------------------------------------

    def book(self, fill: m.OrderFeedback) -> None:
        """Book ``fill`` into bare books and, through an order of its own, into a Portfolio."""
        assert fill.fill_qty is not None and fill.fill_price is not None
        side = fill.side or m.Side.BUY
        books = Books.opening(D(HUGE_CASH))
        books.apply_fill(fill.symbol or "X", side, fill.fill_qty, fill.fill_price, fill.commission)
        books.mark(fill.symbol or "X", fill.fill_price, fill.ts_ns)
        assert books.identity_gap() == 0
        books.equity()
        portfolio = self._portfolio(SPEC)
        signed = fill.fill_qty if side is m.Side.BUY else -fill.fill_qty
        portfolio.strategy.queue.append(  # type: ignore[attr-defined]
            Signal.target("AAPL", signed, limit_price=fill.fill_price)
        )
        portfolio.on_market(m.Tick(symbol="AAPL", ts_ns=fill.ts_ns, price=fill.fill_price))
        for order in self._new_orders(portfolio):
            mirrored = msgspec.structs.replace(
                fill,
                status=m.FeedbackStatus.FILLED,
                client_order_id=order.client_order_id,
                portfolio_id=order.portfolio_id,
                epoch=order.epoch,
                symbol=order.symbol,
                side=order.side,
                fill_qty=order.quantity,
                cumulative_qty=order.quantity,
            )
            round_trip(mirrored, codec.order_feedback)
            result = portfolio.on_feedback(mirrored)
            assert result is FeedbackResult.APPLIED, result
            self.seen["booked"] += 1
        self._check(portfolio)

    def _fill_on(self, order: m.NewOrder, events: list[m.Tick | m.Bar]) -> None:
        self._through_paper(order, events, PaperSettings())

    def _through_paper(self, order: m.NewOrder, events: list[m.Tick | m.Bar], settings: PaperSettings) -> None:
        self._journal_order(order)
        broker = PaperBroker(settings)
        broker.submit(order, order.created_ns)
        for event in events:
            broker.on_market(event)
        self._reports(broker)

    def _reports(self, broker: PaperBroker) -> None:
        for report in broker.drain_reports():
            round_trip(report, codec.order_feedback)
            self.store.journal.record_feedback(report)
            self.seen[f"paper {report.status.value} {report.reason or ''}".strip()] += 1
            if report.status in m.FILL_STATUSES:
                self.book(report)

    def _journal_order(self, order: m.NewOrder) -> None:
        round_trip(order, codec.order_requests)
        if self.store.journal.record_order(order, received_ns=order.created_ns):
            stored = self.store.journal.get_order(order.client_order_id)
            assert stored is not None and stored.order == order

    def _portfolio(self, spec: object) -> Portfolio:
        return Portfolio.create(spec, next(_epochs), "n1")  # type: ignore[arg-type]

    def _new_orders(self, portfolio: Portfolio) -> list[m.NewOrder]:
        orders = [o for o in portfolio.drain_outbox() if isinstance(o, m.NewOrder)]
        if not orders:
            self.seen["risk refusal"] += 1
        for order in orders:
            round_trip(order, codec.order_requests)
            portfolio.mark_submitted(order.client_order_id)
        return orders

    def _check(self, portfolio: Portfolio) -> None:
        assert not portfolio.faulted, portfolio.fault
        assert portfolio.books.identity_gap() == 0
        portfolio.view()
        portfolio.snapshot()


def _resting_orders(symbol: str, price: D, ts_ns: int) -> list[m.NewOrder]:
    """Orders of every kind waiting for ``symbol``: market and limit, both sides, IOC."""
    seq = itertools.count(1)

    def order(
        side: m.Side, quantity: str, limit: D | None = None, tif: m.TimeInForce = m.TimeInForce.GTC
    ) -> m.NewOrder:
        n = next(seq)
        return m.NewOrder(
            client_order_id=f"prop-{ts_ns}-{n}",
            portfolio_id="prop",
            epoch=1,
            node_id="n1",
            symbol=symbol,
            side=side,
            quantity=D(quantity),
            order_type=m.OrderType.LIMIT if limit is not None else m.OrderType.MARKET,
            limit_price=limit,
            time_in_force=tif,
            created_ns=max(ts_ns - NS, 0),
        )

    return [
        order(m.Side.BUY, "10"),
        order(m.Side.SELL, "0.000000000001"),
        order(m.Side.BUY, "999999999999999.999999999999", price),
        order(m.Side.SELL, "3", price),
        order(m.Side.BUY, "999999999999999", None, m.TimeInForce.IOC),
        order(m.Side.SELL, "1", D("1e-12"), m.TimeInForce.DAY),
    ]


def _order_like(fb: m.OrderFeedback) -> m.NewOrder:
    """The order a fill report belongs to, as the gateway would have journaled it."""
    assert fb.fill_qty is not None
    return m.NewOrder(
        client_order_id=fb.client_order_id,
        portfolio_id=fb.portfolio_id,
        epoch=fb.epoch,
        node_id="n1",
        symbol=fb.symbol or "X",
        side=fb.side or m.Side.BUY,
        quantity=min(fb.fill_qty + fb.cumulative_qty, bounds.MAX_QUANTITY - D("1e-12")),
        created_ns=fb.ts_ns,
    )
