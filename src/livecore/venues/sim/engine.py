"""The simulator's matching engine: one book per market, one account.

Pure and single-threaded (``venue.Venue`` holds the lock and the clock). The
book is driven by the simulator's own price: ``print_trade`` moves the last
price and fills the resting limit orders it crosses (at their limit price, as
makers). A taker (market order, marketable limit) fills at once against the
depth levels set by ``set_depth`` (each consumed as it fills: several levels
give several fills), or, with none set, against unlimited liquidity at the
last price. Balances move exactly: a limit order locks what it may pay, a fill
moves the paid and the received asset and charges the commission in the
asset ``CommissionSettings`` names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from livecore.venues.sim import fees, rules
from livecore.venues.sim.ledger import Ledger, ShortBalance
from livecore.venues.sim.model import (
    CommissionSettings,
    Execution,
    Fill,
    MarketSpec,
    Order,
    OrderEvent,
    OrderType,
    Outcome,
    PublicTrade,
    Side,
    Status,
    TimeInForce,
)
from livecore.venues.sim.rules import Reason, Rejected

Plan = list[tuple[list[Decimal] | None, Decimal, Decimal]]  # (depth level or None, price, quantity)
DEFAULT_PRINT_QTY = Decimal("1")


@dataclass
class Book:
    """One market: its last price, optional depth levels and its resting orders."""

    spec: MarketSpec
    last: Decimal | None = None
    asks: list[list[Decimal]] = field(default_factory=list)  # [price, qty], best first
    bids: list[list[Decimal]] = field(default_factory=list)
    explicit_depth: bool = False  # False: unlimited liquidity at the last price
    resting: list[Order] = field(default_factory=list)
    next_trade_id: int = 1

    def trade_id(self) -> int:
        self.next_trade_id += 1
        return self.next_trade_id - 1


def _crosses(side: Side, price: Decimal, limit: Decimal | None) -> bool:
    return limit is None or (price <= limit if side is Side.BUY else price >= limit)


class MatchingEngine:
    """Orders, fills and balances of the simulated venue."""

    def __init__(
        self,
        *,
        markets: Iterable[MarketSpec],
        commission: CommissionSettings,
        balances: Mapping[str, Decimal],
        first_order_id: int = 1,
    ) -> None:
        self._books = {spec.symbol: Book(spec) for spec in markets}
        self._orders: dict[int, Order] = {}
        self._fills: list[Fill] = []
        self._next_order_id = first_order_id
        self.ledger = Ledger(balances)
        self.commission = commission

    # ---- queries ---------------------------------------------------------------

    def markets(self) -> list[MarketSpec]:
        return [book.spec for book in self._books.values()]

    def book(self, symbol: str) -> Book:
        try:
            return self._books[symbol]
        except KeyError:
            raise Rejected(Reason.UNKNOWN_SYMBOL, symbol) from None

    def find(self, symbol: str, *, order_id: int | None = None, client_id: str | None = None) -> Order:
        """The order (a copy) by venue id, or the latest one with this client id."""
        return self._find(symbol, order_id=order_id, client_id=client_id).copy()

    def _find(self, symbol: str, *, order_id: int | None, client_id: str | None) -> Order:
        self.book(symbol)
        if order_id is not None:
            found = self._orders.get(order_id)
        else:
            found = next((o for o in reversed(self._orders.values()) if o.client_id == client_id), None)
        if found is None or found.symbol != symbol or (client_id is not None and found.client_id != client_id):
            raise Rejected(Reason.UNKNOWN_ORDER)
        return found

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order ever placed (copies), oldest first."""
        return [o.copy() for o in self._orders.values() if symbol in (None, o.symbol)]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders(symbol) if o.is_open]

    def fills(
        self,
        symbol: str | None = None,
        *,
        order_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
    ) -> list[Fill]:
        """The account's trades, oldest first, filtered as ``myTrades`` filters them."""
        return [
            f
            for f in self._fills
            if symbol in (None, f.symbol)
            and order_id in (None, f.order_id)
            and (start_ms is None or f.time_ms >= start_ms)
            and (end_ms is None or f.time_ms <= end_ms)
            and (from_id is None or f.trade_id >= from_id)
        ]

    # ---- trading ---------------------------------------------------------------

    def place(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Decimal,
        price: Decimal | None,
        tif: TimeInForce,
        client_id: str,
        now_ms: int,
        quote_qty: Decimal | None = None,
    ) -> tuple[Order, Outcome]:
        """Validate, lock, take what crosses at once, rest or expire the rest."""
        book = self.book(symbol)
        if client_id and any(o.client_id == client_id for o in book.resting):
            raise Rejected(Reason.DUPLICATE_ORDER, client_id)
        self._validate(book, type, qty, price, quote_qty)
        plan = self._plan(book, side, qty, None if type is OrderType.MARKET else price, quote_qty)
        filled = sum((q for _, _, q in plan), Decimal(0))
        if tif is TimeInForce.FOK and filled < qty:
            plan = []
        order = Order(
            order_id=self._next_order_id,
            client_id=client_id or f"sim-{self._next_order_id}",
            symbol=symbol,
            side=side,
            type=type,
            tif=tif,
            qty=qty if quote_qty is None else filled,
            price=price,
            quote_qty=quote_qty,
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        if type is OrderType.LIMIT:
            self._lock(book.spec, order)
        else:
            self._check_taker_funds(book.spec, side, plan)
        self._next_order_id += 1
        self._orders[order.order_id] = order
        out = Outcome(events=[OrderEvent(Execution.NEW, order.copy(), now_ms)])
        for level, price_, q in plan:
            self._fill(book, order, price_, q, maker=False, now_ms=now_ms, out=out)
            if level is not None:
                level[1] -= q
        book.asks = [lv for lv in book.asks if lv[1] > 0]
        book.bids = [lv for lv in book.bids if lv[1] > 0]
        if order.is_open:
            if type is OrderType.MARKET or tif is not TimeInForce.GTC:
                self._close(order, Status.EXPIRED, now_ms, out)
            else:
                book.resting.append(order)
        return order.copy(), out

    def cancel(
        self,
        *,
        symbol: str,
        order_id: int | None = None,
        client_id: str | None = None,
        cancel_client_id: str = "",
        now_ms: int,
    ) -> tuple[Order, Outcome]:
        """Cancel an open order; an unknown or finished one is ``UNKNOWN_ORDER``."""
        order = self._find(symbol, order_id=order_id, client_id=client_id)
        if not order.is_open:
            raise Rejected(Reason.UNKNOWN_ORDER)
        out = Outcome()
        self._close(order, Status.CANCELED, now_ms, out, cancel_client_id=cancel_client_id)
        return order.copy(), out

    # ---- the simulator's own market ----------------------------------------------

    def print_trade(
        self, symbol: str, price: Decimal, *, now_ms: int, qty: Decimal | None = None, buyer_maker: bool = False
    ) -> Outcome:
        """A trade on the public tape at ``price``: the last price moves, and resting
        orders it crosses fill at their limit (all of them if ``qty`` is None, else
        up to ``qty`` in price-time priority: partial fills)."""
        book = self.book(symbol)
        if price <= 0:
            raise Rejected(Reason.BAD_REQUEST, "price must be > 0")
        book.last = price
        print_qty = DEFAULT_PRINT_QTY if qty is None else qty
        out = Outcome(prints=[PublicTrade(symbol, book.trade_id(), price, print_qty, now_ms, buyer_maker)])
        volume = qty
        for order in self._crossed(book, price):
            q = order.remaining if volume is None else min(order.remaining, volume)
            if q <= 0:
                break
            assert order.price is not None
            self._fill(book, order, order.price, q, maker=True, now_ms=now_ms, out=out, public=False)
            if volume is not None:
                volume -= q
        book.resting = [o for o in book.resting if o.is_open]
        return out

    def set_depth(
        self, symbol: str, *, asks: Iterable[tuple[Decimal, Decimal]], bids: Iterable[tuple[Decimal, Decimal]]
    ) -> None:
        """Levels takers fill against, best first, each used up as it fills (until
        ``clear_depth``); an empty side has no liquidity."""
        book = self.book(symbol)
        book.explicit_depth = True
        book.asks = sorted(([Decimal(p), Decimal(q)] for p, q in asks), key=lambda lv: lv[0])
        book.bids = sorted(([Decimal(p), Decimal(q)] for p, q in bids), key=lambda lv: -lv[0])

    def clear_depth(self, symbol: str) -> None:
        """Back to unlimited liquidity at the last price."""
        book = self.book(symbol)
        book.asks, book.bids, book.explicit_depth = [], [], False

    # ---- internals ----------------------------------------------------------------

    def _validate(
        self, book: Book, type: OrderType, qty: Decimal, price: Decimal | None, quote_qty: Decimal | None
    ) -> None:
        spec = book.spec
        if type is OrderType.LIMIT:
            if price is None:
                raise Rejected(Reason.BAD_REQUEST, "a limit order needs a price")
            rules.check_price(spec, price)
        if quote_qty is not None:
            rules.check_notional(spec, quote_qty)
            return
        rules.check_quantity(spec, qty)
        reference = price if type is OrderType.LIMIT else book.last
        if reference is not None:
            rules.check_notional(spec, reference * qty)

    def _levels(self, book: Book, side: Side) -> Iterator[tuple[list[Decimal] | None, Decimal, Decimal | None]]:
        levels = book.asks if side is Side.BUY else book.bids
        if book.explicit_depth:
            for level in levels:
                yield level, level[0], level[1]
        elif book.last is not None:
            yield None, book.last, None

    def _plan(self, book: Book, side: Side, qty: Decimal, limit: Decimal | None, quote_qty: Decimal | None) -> Plan:
        """The fills a taker would get now: (level, price, quantity)."""
        plan: Plan = []
        left, budget = qty, quote_qty
        for level, price, available in self._levels(book, side):
            if not _crosses(side, price, limit):
                break
            want = left if budget is None else rules.floor_to_step(book.spec, budget / price)
            q = want if available is None else min(want, available)
            if q <= 0:
                break
            plan.append((level, price, q))
            if budget is None:
                left -= q
            else:
                budget -= price * q
        return plan

    def _lock(self, spec: MarketSpec, order: Order) -> None:
        amount = fees.lock_share(self.commission, spec, order, order.qty)
        try:
            self.ledger.lock(fees.paid_asset(spec, order.side), amount)
        except ShortBalance:
            raise Rejected(Reason.INSUFFICIENT_BALANCE) from None
        order.locked = amount

    def _check_taker_funds(self, spec: MarketSpec, side: Side, plan: Plan) -> None:
        paid = fees.paid_asset(spec, side)
        need = Decimal(0)
        for _, price, q in plan:
            need += price * q if side is Side.BUY else q
            fee, asset = fees.commission(self.commission, spec, side, price, q, maker=False, free=self.ledger.free)
            if asset == paid:
                need += fee
        if need > self.ledger.free(paid):
            raise Rejected(Reason.INSUFFICIENT_BALANCE)

    def _crossed(self, book: Book, price: Decimal) -> list[Order]:
        buys = sorted(
            (o for o in book.resting if o.side is Side.BUY and o.price is not None and o.price >= price),
            key=lambda o: (-(o.price or 0), o.order_id),
        )
        sells = sorted(
            (o for o in book.resting if o.side is Side.SELL and o.price is not None and o.price <= price),
            key=lambda o: (o.price or 0, o.order_id),
        )
        return buys + sells

    def _fill(
        self,
        book: Book,
        order: Order,
        price: Decimal,
        q: Decimal,
        *,
        maker: bool,
        now_ms: int,
        out: Outcome,
        public: bool = True,
    ) -> None:
        spec = book.spec
        fee, fee_asset = fees.commission(
            self.commission, spec, order.side, price, q, maker=maker, free=self.ledger.free
        )
        if order.locked:
            release = min(order.locked, fees.lock_share(self.commission, spec, order, q))
            self.ledger.unlock(fees.paid_asset(spec, order.side), release)
            order.locked -= release
        cost = price * q
        if order.side is Side.BUY:
            self.ledger.debit(spec.quote, cost)
            self.ledger.credit(spec.base, q)
        else:
            self.ledger.debit(spec.base, q)
            self.ledger.credit(spec.quote, cost)
        if fee >= 0:
            self.ledger.debit(fee_asset, fee)
        else:  # a maker rebate: the venue pays it
            self.ledger.credit(fee_asset, -fee)
        fill = Fill(book.trade_id(), order.order_id, spec.symbol, order.side, price, q, fee, fee_asset, now_ms, maker)
        self._fills.append(fill)
        order.executed += q
        order.cum_quote += cost
        order.updated_ms = now_ms
        order.status = Status.FILLED if order.executed >= order.qty else Status.PARTIALLY_FILLED
        if order.status is Status.FILLED:
            self._release(order)
        out.events.append(OrderEvent(Execution.TRADE, order.copy(), now_ms, fill=fill))
        if public:  # a taker's fill is a print of its own; a maker's is part of the print that crossed it
            book.last = price
            out.prints.append(PublicTrade(spec.symbol, fill.trade_id, price, q, now_ms, order.side is Side.SELL))

    def _release(self, order: Order) -> None:
        if order.locked:
            self.ledger.unlock(fees.paid_asset(self.book(order.symbol).spec, order.side), order.locked)
            order.locked = Decimal(0)

    def _close(self, order: Order, status: Status, now_ms: int, out: Outcome, *, cancel_client_id: str = "") -> None:
        self._release(order)
        order.status = status
        order.updated_ms = now_ms
        book = self.book(order.symbol)
        book.resting = [o for o in book.resting if o.order_id != order.order_id]
        execution = Execution.CANCELED if status is Status.CANCELED else Execution.EXPIRED
        out.events.append(OrderEvent(execution, order.copy(), now_ms, cancel_client_id=cancel_client_id))
