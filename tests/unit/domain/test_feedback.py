"""Execution reports: every outcome, reservations released exactly once."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from livecore.domain import FeedbackResult, Signal
from livecore.wire.messages import FeedbackStatus, OrderFeedback, Side
from tests.unit.domain.helpers import PID, fill, order_for, scripted, status

R = FeedbackResult
D = Decimal
BUFFER = D("1.05")


def open_buy(qty: int = 10, price: int = 100):  # type: ignore[no-untyped-def]
    p, _ = scripted()
    order = order_for(p, Signal.target("AAPL", D(qty)), price)
    p.mark_submitted(order.client_order_id)
    return p, order


def test_partial_fills_release_proportional_reservation_then_the_rest() -> None:
    p, order = open_buy()
    assert p.books.reserved == 10 * 100 * BUFFER
    assert p.on_feedback(fill(order, 4, 101, "f1")) is R.APPLIED
    assert p.books.reserved == 6 * 100 * BUFFER
    assert p.view().open_orders[0].state == "partially_filled"
    assert p.on_feedback(fill(order, 6, 102, "f2")) is R.APPLIED
    assert p.books.reserved == 0
    assert p.books.cash == 100000 - 404 - 612
    assert p.view().open_orders == []
    assert p.books.identity_gap() == 0


def test_fill_beyond_quantity_is_refused_and_changes_nothing() -> None:
    p, order = open_buy()
    p.on_feedback(fill(order, 8, 100, "f1"))
    before = p.books.cash, p.books.reserved, p.books.position_qty("AAPL")
    assert p.on_feedback(fill(order, 3, 100, "f2")) is R.REFUSED
    assert (p.books.cash, p.books.reserved, p.books.position_qty("AAPL")) == before
    assert "exceed" in (p.view().feedback_problem or "")


def test_redelivered_fill_is_duplicate() -> None:
    p, order = open_buy()
    report = fill(order, 5, 100, "f1")
    assert p.on_feedback(report) is R.APPLIED
    cash = p.books.cash
    assert p.on_feedback(report) is R.DUPLICATE
    assert p.books.cash == cash and p.books.position_qty("AAPL") == 5


def test_fill_for_unknown_order_is_reported_not_applied() -> None:
    p, _order = open_buy()
    stray = OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=f"{PID}-1-999",
        portfolio_id=PID,
        epoch=1,
        fill_id="zz",
        fill_qty=D(1),
        fill_price=D(1),
    )
    assert p.on_feedback(stray) is R.UNKNOWN_ORDER
    assert p.books.position_qty("AAPL") == 0


def test_other_portfolios_report_is_ignored() -> None:
    p, _order = open_buy()
    foreign = OrderFeedback(status=FeedbackStatus.ACCEPTED, client_order_id="x-1-1", portfolio_id="x", epoch=1)
    assert p.on_feedback(foreign) is R.IGNORED


def test_reject_releases_reservation_and_is_final() -> None:
    p, order = open_buy()
    assert p.on_feedback(status(order, FeedbackStatus.REJECTED, "no_liquidity")) is R.APPLIED
    assert p.books.reserved == 0 and p.books.cash == 100000
    assert p.on_feedback(status(order, FeedbackStatus.REJECTED, "no_liquidity")) is R.DUPLICATE
    assert p.on_feedback(fill(order, 1, 100, "late")) is R.REFUSED
    assert p.on_feedback(status(order, FeedbackStatus.ACCEPTED)) is R.REFUSED


def test_cancel_after_partial_fill_releases_the_rest() -> None:
    p, order = open_buy()
    p.on_feedback(status(order, FeedbackStatus.ACCEPTED))
    p.on_feedback(fill(order, 3, 100, "f1"))
    assert p.on_feedback(status(order, FeedbackStatus.CANCELLED)) is R.APPLIED
    assert p.books.reserved == 0 and p.books.position_qty("AAPL") == 3
    assert p.on_feedback(status(order, FeedbackStatus.CANCELLED)) is R.DUPLICATE


def test_late_accepted_and_losing_cancel_are_ignored() -> None:
    p, order = open_buy()
    p.on_feedback(fill(order, 10, 100, "f1"))
    assert p.on_feedback(status(order, FeedbackStatus.ACCEPTED)) is R.IGNORED
    assert p.on_feedback(status(order, FeedbackStatus.CANCELLED)) is R.IGNORED
    assert p.books.position_qty("AAPL") == 10


def test_filled_status_with_less_than_quantity_closes_the_order() -> None:
    p, order = open_buy()
    assert p.on_feedback(fill(order, 7, 100, "f1", final=True)) is R.APPLIED
    assert p.view().open_orders == [] and p.books.reserved == 0


def test_fill_on_created_order_is_applied_as_submitted() -> None:
    p, _ = scripted()
    order = order_for(p, Signal.target("AAPL", D(10)))
    assert p.on_feedback(fill(order, 10, 100, "f1")) is R.APPLIED
    p.mark_submitted(order.client_order_id)  # the confirmation arrives after: harmless
    assert p.books.position_qty("AAPL") == 10


def test_sell_reserves_position_and_fill_releases_it() -> None:
    p, buy = open_buy()
    p.on_feedback(fill(buy, 10, 100, "f1"))
    sell = order_for(p, Signal.flat("AAPL"), 110, 1)
    assert sell.side is Side.SELL and sell.quantity == 10
    assert p.books.positions["AAPL"].reserved_qty == 10
    p.on_feedback(fill(sell, 4, 110, "f2"))
    assert p.books.positions["AAPL"].reserved_qty == 6
    p.on_feedback(fill(sell, 6, 110, "f3"))
    assert "AAPL" not in p.books.positions
    assert p.books.realized_pnl == 100


def test_mismatched_symbol_or_side_is_refused() -> None:
    p, order = open_buy()
    wrong = fill(order, 1, 100, "f1")
    assert p.on_feedback(msgspec.structs.replace(wrong, symbol="MSFT")) is R.REFUSED
    assert p.on_feedback(msgspec.structs.replace(wrong, side=Side.SELL)) is R.REFUSED
    assert p.books.position_qty("AAPL") == 0


def test_strategy_sees_fills() -> None:
    p, order = open_buy()
    p.on_feedback(fill(order, 10, 99, "f1", commission=1))
    strategy = p.strategy
    assert [f.fill_id for f in strategy.fills] == ["f1"]  # type: ignore[attr-defined]
    assert strategy.fills[0].order_done  # type: ignore[attr-defined]
