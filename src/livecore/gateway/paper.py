"""The paper broker: pure order matching against the market data the gateway sees.

Rules (documented in docs/GATEWAY.md):

- A **market** order fills at the next price seen for its symbol after it
  arrives: a tick's ``price`` or a bar's ``open`` (the first price traded in the
  bar), moved by the slippage against the trader.
- A **limit** order rests until the price reaches its limit (touching counts).
  If the reference price (tick price, bar open) is already at or better than the
  limit it fills there, slipped but never beyond the limit; if only a bar's
  range reaches it (``low`` for a buy, ``high`` for a sell) it fills at the limit.
- With a **participation** cap, one event fills at most ``participation x
  volume`` (tick ``size``, bar ``volume``) shared by the orders of that symbol
  in arrival order, floored to ``quantity_step``; the rest waits for the next
  events. A volume of 0 means unknown: no cap.
- **IOC** orders get exactly one event: what it does not fill is cancelled.
  **DAY** orders are cancelled by the first event of a later UTC day.
- Every order seen is remembered with its last status (``lookup``), so an
  order journaled without an outcome is never submitted twice.
- Fill ids are ``{client_order_id}-f{n}`` (n from 1): unique and deterministic.
- The commission is charged in ``fee_asset``, as a venue would
  (``domain/fees.py``): ``quote`` (the default), ``received`` (the asset a
  fill receives: the base for a buy, the quote for a sell, as spot venues do
  by default), ``base`` (the base on both sides: the position pays it) or a
  named third asset (``BNB``) worth ``fee_asset_price`` in the
  quote. The cost model's quote amount is converted at the fill price (or that
  price) to ``MAX_SCALE`` places, half up; a fill whose converted fee the wire
  could not carry is refused like any other (``commission_out_of_bounds``).
- A fill the wire could not carry (a slipped price at or above
  ``wire.bounds.MAX_PRICE``, a commission at or above ``MAX_AMOUNT``) is not
  made: the order is cancelled with reason ``price_out_of_bounds`` or
  ``commission_out_of_bounds``. Arithmetic runs in the cost model's wide
  ``PRICING`` context, so values are exact and rounding cannot raise.

No I/O, no clock: time comes in with calls and events.
"""

from __future__ import annotations

from collections.abc import KeysView, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

import msgspec

from livecore.checks import require
from livecore.domain.fees import split_symbol
from livecore.gateway.broker import BrokerAdapter, ExecutionReport
from livecore.gateway.costs import PRICING, CostModel
from livecore.wire.bounds import MAX_AMOUNT, MAX_ID_LENGTH, MAX_ORDER_ID_LENGTH, MAX_PRICE, MAX_SCALE
from livecore.wire.enums import members
from livecore.wire.messages import (
    FILL_STATUSES,
    ZERO,
    Bar,
    FeedbackStatus,
    MarketEvent,
    NewOrder,
    OrderFeedback,
    OrderType,
    Side,
    TimeInForce,
)

_NS_PER_DAY = 86_400 * 1_000_000_000
# exact arithmetic in the cost model's context, without entering it (``costs``)
_add, _subtract, _multiply, _divide = PRICING.add, PRICING.subtract, PRICING.multiply, PRICING.divide
_FEE_QUANTUM = Decimal(1).scaleb(-MAX_SCALE)  # a converted fee keeps the wire's places
QUOTE_FEE, RECEIVED_FEE, BASE_FEE = "quote", "received", "base"  # PaperSettings.fee_asset's keywords
# the cancel reason of an order still working when a finite replay or a backtest ends
END_OF_DATA = "end_of_data"
_Status, _TimeInForce = members(FeedbackStatus), members(TimeInForce)  # cheap member reads (wire.enums)
_OrderType, _Side = members(OrderType), members(Side)


@dataclass(frozen=True, slots=True)
class PaperSettings:
    """``participation``: None (no cap) or a fraction in (0, 1] of each event's volume."""

    costs: CostModel = field(default_factory=CostModel)
    participation: Decimal | None = None
    quantity_step: Decimal = Decimal(1)
    venue: str = "paper"
    fee_asset: str = QUOTE_FEE
    fee_asset_price: Decimal | None = None  # a third fee asset's price in the quote

    def __post_init__(self) -> None:
        require(bool(self.fee_asset) and self.fee_asset.isprintable(), self, "fee_asset", "must name an asset")
        third = self.fee_asset not in (QUOTE_FEE, RECEIVED_FEE, BASE_FEE)
        price = self.fee_asset_price
        require(
            not third or (price is not None and price.is_finite() and price > 0),
            self,
            "fee_asset_price",
            f"must be > 0: the quote price of {self.fee_asset}",
        )
        require(
            self.participation is None or 0 < self.participation <= 1,
            self,
            "participation",
            "must be in (0, 1] (or None)",
        )
        require(self.quantity_step.is_finite() and self.quantity_step > 0, self, "quantity_step", "must be > 0")
        require(
            self.quantity_step.as_tuple().exponent >= -MAX_SCALE,  # type: ignore[operator]  # finite: an int
            self,
            "quantity_step",
            f"must have at most {MAX_SCALE} decimal places",
        )
        # venue order ids are "{venue}-{coid}"
        longest = MAX_ID_LENGTH - MAX_ORDER_ID_LENGTH - 1
        require(len(self.venue) <= longest, self, "venue", f"must have at most {longest} characters")


class _Working(msgspec.Struct):
    """An open order and what it has filled so far (a struct: one per order, cheap to build)."""

    order: NewOrder
    arrived_day: int
    filled: Decimal = ZERO
    value: Decimal = ZERO
    fills: int = 0
    commission: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return _subtract(self.order.quantity, self.filled)


def fill_id(client_order_id: str, n: int) -> str:
    """The id of the ``n``-th fill (from 1) of an order."""
    return f"{client_order_id}-f{n}"


class PaperBroker(BrokerAdapter):
    """Simulated venue; see the module docstring for the matching rules."""

    def __init__(self, settings: PaperSettings | None = None) -> None:
        self._settings = settings or PaperSettings()
        self._costs = self._settings.costs
        self._working: dict[str, _Working] = {}
        self._by_symbol: dict[str, dict[str, _Working]] = {}
        self._reports: list[ExecutionReport] = []
        self._last: dict[str, FeedbackStatus] = {}  # every order seen: its last status

    # --- BrokerAdapter --------------------------------------------------------

    def submit(self, order: NewOrder, now_ns: int) -> None:
        if order.client_order_id in self._working:
            self._report(order, _Status.REJECTED, now_ns, reason="duplicate_client_order_id")
            return
        self._add(_Working(order=order, arrived_day=now_ns // _NS_PER_DAY))
        self._report(order, _Status.ACCEPTED, now_ns)  # an acceptance carries no amounts

    def cancel(self, client_order_id: str, now_ns: int, reason: str | None = None) -> bool:
        working = self._working.get(client_order_id)
        if working is None:
            return False
        self._close(working, now_ns, reason or "cancel_requested")
        return True

    def release(self, client_order_id: str) -> bool:
        working = self._working.get(client_order_id)
        if working is None:
            return False
        self._remove(working)
        return True

    def restore(self, order: NewOrder, history: Sequence[OrderFeedback]) -> None:
        with localcontext(PRICING):
            self._restore(order, history)

    def _restore(self, order: NewOrder, history: Sequence[OrderFeedback]) -> None:
        arrived = next((fb.ts_ns for fb in history if fb.status is _Status.ACCEPTED), 0)
        working = _Working(order=order, arrived_day=arrived // _NS_PER_DAY)
        seen: set[str] = set()
        for fb in history:
            if fb.status in FILL_STATUSES and fb.fill_id not in seen:
                assert fb.fill_qty is not None and fb.fill_price is not None  # checked by the struct
                seen.add(fb.fill_id or "")
                working.filled += fb.fill_qty
                working.value += fb.fill_qty * fb.fill_price
                working.commission += fb.commission
                working.fills += 1
        if working.remaining > 0:
            self._add(working)
        if history:
            self._last[order.client_order_id] = history[-1].status

    def lookup(self, client_order_id: str) -> FeedbackStatus | None:
        return self._last.get(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[NewOrder]:
        book = self._working if symbol is None else self._by_symbol.get(symbol, {})
        return [w.order for w in book.values()]

    def working_symbols(self) -> KeysView[str]:
        """The symbols with working orders, as a live view (the same object for the
        broker's life): only an event of one of them can fill or expire anything,
        and a backtest asks it on every event, without a call."""
        return self._by_symbol.keys()

    def drain_reports(self) -> list[ExecutionReport]:
        reports, self._reports = self._reports, []
        return reports

    def on_market(self, event: MarketEvent) -> None:
        book = self._by_symbol.get(event.symbol)
        if book:
            self._match(event, book)

    def _match(self, event: MarketEvent, book: dict[str, _Working]) -> None:
        """Arithmetic by the ``PRICING`` context's methods (``_add``, ...): exact, as
        inside ``localcontext(PRICING)``, without entering one per matched event."""
        budget = self._volume_budget(event)
        ts_ns = event.ts_ns
        day = ts_ns // _NS_PER_DAY
        for working in list(book.values()):
            order = working.order
            tif = order.time_in_force
            if tif is _TimeInForce.DAY and day > working.arrived_day:
                self._close(working, ts_ns, "day_expired")
                continue
            price = self._fill_price(order, event)
            if price is not None:
                if price >= MAX_PRICE:
                    self._close(working, ts_ns, "price_out_of_bounds")
                    continue
                if budget is None:
                    self._fill(working, _subtract(order.quantity, working.filled), price, ts_ns, whole=True)
                elif budget > 0:
                    remaining = _subtract(order.quantity, working.filled)
                    qty = min(remaining, budget)
                    budget = _subtract(budget, qty)
                    self._fill(working, qty, price, ts_ns, whole=qty is remaining)
            # something left unfilled, and still open (a refused fill closed it)
            if tif is _TimeInForce.IOC and working.filled < order.quantity and order.client_order_id in self._working:
                self._close(working, ts_ns, "ioc_unfilled")

    # --- matching ---------------------------------------------------------------

    def _volume_budget(self, event: MarketEvent) -> Decimal | None:
        participation = self._settings.participation
        if participation is None:
            return None
        volume = event.volume if isinstance(event, Bar) else event.size
        if volume <= 0:
            return None
        step = self._settings.quantity_step
        share = _divide(_multiply(participation, volume), step)
        return _multiply(share.to_integral_value(rounding=ROUND_FLOOR, context=PRICING), step)

    def _fill_price(self, order: NewOrder, event: MarketEvent) -> Decimal | None:
        """The price ``order`` fills at on ``event``, or None if it does not fill."""
        reference = event.open if isinstance(event, Bar) else event.price
        slipped = self._costs.slipped_price(reference, order.side)
        if order.order_type is _OrderType.MARKET:
            return slipped
        limit = order.limit_price
        assert limit is not None  # a limit order always has one (checked by NewOrder)
        if order.side is _Side.BUY:
            if reference <= limit:
                return min(slipped, limit)
            if isinstance(event, Bar) and event.low <= limit:
                return limit
            return None
        if reference >= limit:
            return max(slipped, limit)
        if isinstance(event, Bar) and event.high >= limit:
            return limit
        return None

    # --- book keeping -------------------------------------------------------------

    def _add(self, working: _Working) -> None:
        coid = working.order.client_order_id
        self._working[coid] = working
        self._by_symbol.setdefault(working.order.symbol, {})[coid] = working

    def _remove(self, working: _Working) -> None:
        coid = working.order.client_order_id
        self._working.pop(coid, None)
        book = self._by_symbol.get(working.order.symbol)
        if book is not None:
            book.pop(coid, None)
            if not book:
                del self._by_symbol[working.order.symbol]

    def _fill(self, working: _Working, qty: Decimal, price: Decimal, ts_ns: int, *, whole: bool) -> None:
        """Fill ``qty`` at ``price``; ``whole``: ``qty`` is the order's remaining quantity
        (``quantity - filled``) itself."""
        costs, order = self._costs, working.order
        # ``total_commission`` of nothing filled is zero: not called for an order's first fill
        before = ZERO if working.filled <= 0 else costs.total_commission(working.filled, working.value)
        # all of it at once: 0 + qty is qty, written alike (qty = quantity - 0 has no positive
        # exponent), and a report whose cumulative quantity is its fill's checks the one object once
        filled = qty if whole and working.filled is ZERO else _add(working.filled, qty)
        value = _multiply(qty, price)
        if working.value:  # the value only feeds the commission, which reads it as a number
            value = _add(working.value, value)
        commission = _subtract(costs.total_commission(filled, value), before)
        charged, asset = self._charged(order, commission, price)
        if commission >= MAX_AMOUNT or charged >= MAX_AMOUNT:
            self._close(working, ts_ns, "commission_out_of_bounds")
            return
        working.filled, working.value = filled, value
        working.fills += 1
        if commission:  # kept as a number only (``_restore`` sums it the same way)
            working.commission = _add(working.commission, commission)
        done = filled >= order.quantity
        if done:
            self._remove(working)
        self._report(
            order,
            _Status.FILLED if done else _Status.PARTIALLY_FILLED,
            ts_ns,
            fill_id=fill_id(order.client_order_id, working.fills),
            fill_qty=qty,
            fill_price=price,
            cumulative_qty=filled,
            commission=charged,
            commission_asset=asset,
        )

    def _charged(self, order: NewOrder, commission: Decimal, price: Decimal) -> tuple[Decimal, str]:
        """The quote ``commission`` as charged in the settings' fee asset (amount, asset)."""
        setting = self._settings.fee_asset
        if setting == QUOTE_FEE or not commission:
            return commission, ""
        in_base = setting == BASE_FEE or (setting == RECEIVED_FEE and order.side is _Side.BUY)
        if setting == RECEIVED_FEE and not in_base:
            return commission, ""
        pair = split_symbol(order.symbol)
        if in_base:
            asset, rate = (order.symbol if pair is None else pair[0]), price
        else:
            assert self._settings.fee_asset_price is not None  # checked by PaperSettings
            asset, rate = setting, self._settings.fee_asset_price
        return _divide(commission, rate).quantize(_FEE_QUANTUM, rounding=ROUND_HALF_UP, context=PRICING), asset

    def _close(self, working: _Working, ts_ns: int, reason: str) -> None:
        self._remove(working)
        self._report(working.order, _Status.CANCELLED, ts_ns, cumulative_qty=working.filled, reason=reason)

    def _report(
        self,
        order: NewOrder,
        status: FeedbackStatus,
        ts_ns: int,
        *,
        fill_id: str | None = None,
        fill_qty: Decimal | None = None,
        fill_price: Decimal | None = None,
        cumulative_qty: Decimal = ZERO,
        commission: Decimal = ZERO,
        commission_asset: str = "",
        reason: str | None = None,
    ) -> None:
        if status is not _Status.REJECTED or reason != "duplicate_client_order_id":
            self._last[order.client_order_id] = status
        self._reports.append(
            OrderFeedback(
                status=status,
                client_order_id=order.client_order_id,
                portfolio_id=order.portfolio_id,
                epoch=order.epoch,
                symbol=order.symbol,
                side=order.side,
                venue_order_id=f"{self._settings.venue}-{order.client_order_id}",
                fill_id=fill_id,
                fill_qty=fill_qty,
                fill_price=fill_price,
                cumulative_qty=cumulative_qty,
                commission=commission,
                commission_asset=commission_asset,
                reason=reason,
                ts_ns=ts_ns,
            )
        )
