"""Applying the gateway's execution reports to an order book and the books.

Outcomes (``FeedbackOutcome``, whose ``result`` is a ``FeedbackResult``):

- ``APPLIED``: the report changed state (a fill booked, an order accepted,
  rejected or cancelled, reservations released).
- ``DUPLICATE``: already applied (a fill id the order holds, a fill for an
  order closed and forgotten, or the same final report again).
- ``UNKNOWN_ORDER``: no such order in this portfolio (never known; or, for a
  report that is not a fill, closed and forgotten); nothing is applied.
- ``REFUSED``: contradicts what the portfolio knows (a fill beyond the order's
  quantity, a fill for a rejected or cancelled order, a symbol/side mismatch);
  nothing is applied, the detail says why.
- ``IGNORED``: harmless and stale (an ``accepted`` after the order already
  filled, a ``cancelled`` that lost the race to the last fill, another
  portfolio's report).

A report for an order still CREATED (the gateway answered before the bus
confirmed delivery) is applied as if the order had been SUBMITTED.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

import msgspec

from livecore.domain.books import Books, divide
from livecore.domain.fees import quote_value
from livecore.domain.order_book import OrderBook
from livecore.domain.orders import Order, OrderState, booked_earlier
from livecore.domain.strategy import Fill
from livecore.wire.enums import members
from livecore.wire.messages import FILL_STATUSES, FeedbackStatus, OrderFeedback

ZERO = Decimal(0)
S = members(OrderState)  # cheap member reads (wire.enums)


class FeedbackResult(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown_order"
    REFUSED = "refused"
    IGNORED = "ignored"


_Result, _Status = members(FeedbackResult), members(FeedbackStatus)  # cheap member reads (wire.enums)


class FeedbackOutcome(msgspec.Struct, frozen=True):
    """What one report did: its result, why, and the fill to hand the strategy if one
    was booked (a struct: one is built per report, and builds faster than a dataclass)."""

    result: FeedbackResult
    detail: str = ""
    fill: Fill | None = None
    # whether positions or the open orders may have changed (the portfolio then
    # works out its routing symbols again); an acceptance changes neither
    rerouting: bool = True


_APPLIED = FeedbackOutcome(FeedbackResult.APPLIED)  # the common outcomes, built once
_ACCEPTED = FeedbackOutcome(FeedbackResult.APPLIED, rerouting=False)


def release_all(order: Order, books: Books) -> None:
    """Give back everything ``order`` still reserves."""
    if order.reserved_cash:
        books.release_cash(order.reserved_cash)
        order.reserved_cash = ZERO
    if order.reserved_qty:
        books.release_qty(order.symbol, order.reserved_qty)
        order.reserved_qty = ZERO


def apply_feedback(fb: OrderFeedback, book: OrderBook, books: Books, booked: Mapping[int, int]) -> FeedbackOutcome:
    """Apply one report; never raises for a well-formed report. Fills are de-duplicated
    by order state: the order's own fill ids, or ``booked`` (``EntryState.booked``)
    for an order closed and forgotten, which takes no more fills."""
    order = book.get(fb.client_order_id)
    if fb.status in FILL_STATUSES:
        assert fb.fill_id is not None
        if order is None:
            if booked_earlier(fb.client_order_id, booked):
                return FeedbackOutcome(_Result.DUPLICATE, f"fill {fb.fill_id} for an order closed and forgotten")
            return FeedbackOutcome(_Result.UNKNOWN_ORDER, f"fill {fb.fill_id} for unknown order")
        if fb.fill_id in order.fill_ids:
            return FeedbackOutcome(_Result.DUPLICATE, f"fill {fb.fill_id} already applied")
        return _fill(fb, order, book, books)
    if order is None:
        return FeedbackOutcome(_Result.UNKNOWN_ORDER, f"{fb.status} for unknown order")
    if fb.venue_order_id and not order.venue_order_id:
        order.venue_order_id = fb.venue_order_id
    if fb.status is _Status.ACCEPTED:
        return _accepted(order, book, fb.ts_ns)
    if fb.status is _Status.REJECTED:
        return _rejected(order, book, books, fb.reason or "", fb.ts_ns)
    return _cancelled(order, book, books, fb.reason, fb.ts_ns)


def _accepted(order: Order, book: OrderBook, ts_ns: int) -> FeedbackOutcome:
    revived = order.state is S.REJECTED and order.inferred
    if revived:
        order.revive()
        book.reopened(order)
    if order.state is S.CREATED:
        order.to(S.SUBMITTED)
    if order.state is S.SUBMITTED:
        order.to(S.ACCEPTED)
        order.updated_ns = ts_ns
        return _APPLIED if revived else _ACCEPTED
    if order.state is S.ACCEPTED:
        return FeedbackOutcome(_Result.DUPLICATE, "already accepted")
    if order.state is S.REJECTED:
        return FeedbackOutcome(_Result.REFUSED, "accepted after rejected")
    return FeedbackOutcome(_Result.IGNORED, f"late accepted, order is {order.state}")


def _rejected(order: Order, book: OrderBook, books: Books, reason: str, ts_ns: int) -> FeedbackOutcome:
    if order.state is S.REJECTED:
        if order.inferred:  # the gateway confirms what was inferred
            order.inferred = False
            order.reason = reason
            book.closed(order)  # now it may be forgotten
            return FeedbackOutcome(_Result.APPLIED, "inferred rejection confirmed")
        return FeedbackOutcome(_Result.DUPLICATE, "already rejected")
    if order.filled_qty or order.state in (S.FILLED, S.CANCELLED):
        return FeedbackOutcome(_Result.REFUSED, f"rejected after {order.state}")
    if order.state is S.CREATED:
        order.to(S.SUBMITTED)
    order.to(S.REJECTED)
    order.reason = reason
    order.updated_ns = ts_ns
    release_all(order, books)
    book.closed(order)
    return _APPLIED


def _cancelled(order: Order, book: OrderBook, books: Books, reason: str | None, ts_ns: int) -> FeedbackOutcome:
    if order.state is S.REJECTED and order.inferred:
        order.revive()
        book.reopened(order)
    if order.state is S.CANCELLED:
        return FeedbackOutcome(_Result.DUPLICATE, "already cancelled")
    if order.state in (S.FILLED, S.REJECTED):
        return FeedbackOutcome(_Result.IGNORED, f"cancelled after {order.state}")
    if order.state is S.CREATED:
        order.to(S.SUBMITTED)
    order.to(S.CANCELLED)
    order.reason = reason
    order.updated_ns = ts_ns
    release_all(order, books)
    book.closed(order)
    return _APPLIED


def _fill(fb: OrderFeedback, order: Order, book: OrderBook, books: Books) -> FeedbackOutcome:
    assert fb.fill_id is not None and fb.fill_qty is not None and fb.fill_price is not None
    qty, price = fb.fill_qty, fb.fill_price
    refusal = _vet_fill(fb, order, book)
    if refusal is not None:
        return refusal
    remaining_before = order.quantity - order.filled_qty  # ``order.remaining``, without the property call
    done = qty == remaining_before or fb.status is _Status.FILLED
    if order.state is S.CREATED:
        order.to(S.SUBMITTED)
    if done:
        order.to(S.FILLED)
    else:
        order.to(S.CANCEL_PENDING if order.state is S.CANCEL_PENDING else S.PARTIALLY_FILLED)
    _release_for_fill(order, books, qty, remaining_before, done)
    commission, asset = fb.commission, fb.commission_asset
    if asset:  # charged in a named asset (a venue): booked where it was taken (domain/fees.py)
        books.book_fill(order.symbol, order.side, qty, price, commission, asset)
        commission = quote_value(order.symbol, price, commission, asset)
    else:
        books.apply_fill(order.symbol, order.side, qty, price, commission)
    order.filled_qty += qty
    order.filled_notional += qty * price
    order.commission += commission
    order.fill_ids.append(fb.fill_id)
    order.updated_ns = fb.ts_ns
    if done:
        book.closed(order)
    fill = Fill(
        client_order_id=order.client_order_id,
        fill_id=fb.fill_id,
        symbol=order.symbol,
        side=order.side,
        quantity=qty,
        price=price,
        commission=commission,
        ts_ns=fb.ts_ns,
        order_done=done,
    )
    return FeedbackOutcome(_Result.APPLIED, fill=fill)


def _vet_fill(fb: OrderFeedback, order: Order, book: OrderBook) -> FeedbackOutcome | None:
    """The refusal of a fill that contradicts the order, or None when it may apply. A fill
    for an order whose rejection was only inferred revives it first (a fact beats an inference)."""
    assert fb.fill_qty is not None
    qty = fb.fill_qty
    if fb.symbol and fb.symbol != order.symbol:
        return FeedbackOutcome(_Result.REFUSED, f"fill symbol {fb.symbol} != order symbol {order.symbol}")
    if fb.side is not None and fb.side is not order.side:
        return FeedbackOutcome(_Result.REFUSED, f"fill side {fb.side} != order side {order.side}")
    if order.state is S.REJECTED and order.inferred:
        order.revive()
        book.reopened(order)
    if order.is_final:
        return FeedbackOutcome(_Result.REFUSED, f"fill for a {order.state} order")
    if order.filled_qty + qty > order.quantity:
        return FeedbackOutcome(
            _Result.REFUSED,
            f"fill {qty} would exceed the order: filled {order.filled_qty} of {order.quantity}",
        )
    return None


def _release_for_fill(order: Order, books: Books, qty: Decimal, remaining_before: Decimal, done: bool) -> None:
    """Give back what the filled part reserved: all of it when the order is done, else
    the fill's share of the cash and the filled quantity."""
    if done:
        cash_release = order.reserved_cash
        qty_release = order.reserved_qty
    else:
        cash_release = min(divide(order.reserved_cash * qty, remaining_before), order.reserved_cash)
        qty_release = min(qty, order.reserved_qty)
    if cash_release:
        books.release_cash(cash_release)
        order.reserved_cash -= cash_release
    if qty_release:
        books.release_qty(order.symbol, qty_release)
        order.reserved_qty -= qty_release
