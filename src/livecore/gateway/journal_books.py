"""Recompute a portfolio's cash and positions from the gateway journal alone.

The journal is the source of truth for reconciliation: after any crash,
restart or migration, a portfolio's books must equal what this computes from
its journaled fills. Pure: give it the orders and the feedback, get the books.

Cash moves by ``-qty x price`` for a buy and ``+qty x price`` for a sell, and
the commission is taken where the venue took it (``domain/fees.py``): from
cash when it is in the quote, from the position when it is in the symbol's
base (``commissions`` then holds its value at the fill price), and kept apart
in ``asset_fees`` when it is in a third asset. A fill id seen twice counts once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from livecore.domain.fees import FeeKind, fee_kind, quote_value
from livecore.wire.messages import FILL_STATUSES, NewOrder, OrderFeedback, Side


@dataclass(slots=True)
class JournalBooks:
    """Cash and positions of one portfolio as the journal says."""

    portfolio_id: str
    cash: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    commissions: Decimal = Decimal(0)
    fills: int = 0
    traded_value: Decimal = Decimal(0)
    asset_fees: dict[str, Decimal] = field(default_factory=dict)  # commissions in a third asset


def side_and_symbol(fb: OrderFeedback, orders: Mapping[str, NewOrder]) -> tuple[Side, str]:
    """A fill's side and symbol: its own, else its journaled order's (ValueError if neither says)."""
    order = orders.get(fb.client_order_id)
    side = fb.side or (order.side if order is not None else None)
    symbol = fb.symbol or (order.symbol if order is not None else "")
    if side is None or not symbol:
        raise ValueError(f"fill {fb.fill_id} of unknown order {fb.client_order_id}: side/symbol unknown")
    return side, symbol


def recompute_all(
    orders: Iterable[NewOrder],
    feedback: Iterable[OrderFeedback],
    initial_cash: Decimal | Mapping[str, Decimal],
) -> dict[str, JournalBooks]:
    """The books of every portfolio that has an order or a fill in the journal.

    ``initial_cash`` is one amount for all or a mapping per portfolio id."""
    by_id = {order.client_order_id: order for order in orders}

    def start(pid: str) -> Decimal:
        if isinstance(initial_cash, Decimal):
            return initial_cash
        return initial_cash.get(pid, Decimal(0))

    books: dict[str, JournalBooks] = {}
    for order in by_id.values():
        books.setdefault(order.portfolio_id, JournalBooks(order.portfolio_id, start(order.portfolio_id)))
    seen: set[str] = set()
    for fb in feedback:
        if fb.status not in FILL_STATUSES or fb.fill_id in seen:
            continue
        assert fb.fill_id is not None and fb.fill_qty is not None and fb.fill_price is not None
        seen.add(fb.fill_id)
        side, symbol = side_and_symbol(fb, by_id)
        book = books.setdefault(fb.portfolio_id, JournalBooks(fb.portfolio_id, start(fb.portfolio_id)))
        value = fb.fill_qty * fb.fill_price
        signed_qty = fb.fill_qty if side is Side.BUY else -fb.fill_qty
        book.cash += -value if side is Side.BUY else value
        kind = fee_kind(symbol, fb.commission_asset)
        if kind is FeeKind.QUOTE:
            book.cash -= fb.commission
        elif kind is FeeKind.BASE:
            signed_qty -= fb.commission
        else:
            book.asset_fees[fb.commission_asset] = book.asset_fees.get(fb.commission_asset, Decimal(0)) + fb.commission
        book.commissions += quote_value(symbol, fb.fill_price, fb.commission, fb.commission_asset)
        book.traded_value += value
        book.fills += 1
        position = book.positions.get(symbol, Decimal(0)) + signed_qty
        if position == 0:
            book.positions.pop(symbol, None)
        else:
            book.positions[symbol] = position
    return books


def recompute_books(
    orders: Iterable[NewOrder],
    feedback: Iterable[OrderFeedback],
    initial_cash: Decimal,
    portfolio_id: str | None = None,
) -> JournalBooks:
    """The books of one portfolio (``portfolio_id``, or the only one in the inputs)."""
    orders = list(orders)
    feedback = list(feedback)
    if portfolio_id is None:
        ids = {o.portfolio_id for o in orders} | {fb.portfolio_id for fb in feedback}
        if len(ids) > 1:
            raise ValueError(f"journal holds several portfolios ({', '.join(sorted(ids))}): name one")
        portfolio_id = next(iter(ids), "")
    pid = portfolio_id
    books = recompute_all(
        [o for o in orders if o.portfolio_id == pid],
        [fb for fb in feedback if fb.portfolio_id == pid],
        initial_cash,
    )
    return books.get(pid, JournalBooks(pid, initial_cash))
