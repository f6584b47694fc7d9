"""recompute_books: cash and positions from journaled orders and fills."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from livecore.gateway.journal_books import recompute_all, recompute_books
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side


def new(coid: str, side: Side, pid: str = "p1", symbol: str = "AAA") -> NewOrder:
    return NewOrder(
        client_order_id=coid,
        portfolio_id=pid,
        epoch=1,
        node_id="n",
        symbol=symbol,
        side=side,
        quantity=D(100),
        created_ns=1,
    )


def fill(coid: str, n: int, qty: str, price: str, commission: str = "0", pid: str = "p1") -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.PARTIALLY_FILLED,
        client_order_id=coid,
        portfolio_id=pid,
        epoch=1,
        fill_id=f"{coid}-f{n}",
        fill_qty=D(qty),
        fill_price=D(price),
        commission=D(commission),
    )


def test_buys_and_sells_move_cash_and_positions() -> None:
    orders = [new("p1-1-1", Side.BUY), new("p1-1-2", Side.SELL)]
    feedback = [
        OrderFeedback(status=FeedbackStatus.ACCEPTED, client_order_id="p1-1-1", portfolio_id="p1", epoch=1),
        fill("p1-1-1", 1, "60", "10", "1"),
        fill("p1-1-1", 2, "40", "11", "0.5"),
        fill("p1-1-2", 1, "30", "12", "1"),
    ]
    books = recompute_books(orders, feedback, D(10_000))
    assert books.cash == D(10_000) - 600 - 440 - D("1.5") + 360 - 1
    assert books.positions == {"AAA": D(70)}
    assert books.commissions == D("2.5") and books.fills == 3


def test_duplicate_fill_ids_count_once_and_flat_positions_vanish() -> None:
    orders = [new("p1-1-1", Side.BUY), new("p1-1-2", Side.SELL)]
    once = fill("p1-1-1", 1, "10", "5")
    feedback = [once, once, fill("p1-1-2", 1, "10", "6")]
    books = recompute_books(orders, feedback, D(0))
    assert books.cash == D(10) and books.positions == {} and books.fills == 2


def test_recompute_all_splits_by_portfolio() -> None:
    orders = [new("a-1-1", Side.BUY, pid="a"), new("b-1-1", Side.BUY, pid="b")]
    feedback = [fill("a-1-1", 1, "1", "10", pid="a"), fill("b-1-1", 1, "2", "10", pid="b")]
    books = recompute_all(orders, feedback, {"a": D(100), "b": D(50)})
    assert books["a"].cash == D(90) and books["b"].cash == D(30)
    with pytest.raises(ValueError, match="several portfolios"):
        recompute_books(orders, feedback, D(0))
    assert recompute_books(orders, feedback, D(0), portfolio_id="b").positions == {"AAA": D(2)}
    assert recompute_books([], [], D(7), portfolio_id="c").cash == D(7)
