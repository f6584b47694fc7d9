"""Exact accounting: fills, P&L, reservations, the identity."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain.books import Books
from livecore.wire.messages import Side

D = Decimal


def books() -> Books:
    return Books.opening(D(10000))


def test_buy_then_partial_sell_realizes_pnl_at_average_cost() -> None:
    b = books()
    b.apply_fill("X", Side.BUY, D(10), D(100), D(1))
    b.apply_fill("X", Side.BUY, D(10), D(110), D(1))
    assert b.positions["X"].avg_cost == D(105)
    realized = b.apply_fill("X", Side.SELL, D(5), D(120), D(1))
    assert realized == D(75)
    assert b.cash == D(10000) - 1000 - 1100 + 600 - 3
    assert b.positions["X"].quantity == 15
    assert b.commissions == 3
    assert b.identity_gap() == 0


def test_closing_the_whole_position_removes_it_exactly() -> None:
    b = books()
    b.apply_fill("X", Side.BUY, D(3), D("33.33"), D(0))
    b.apply_fill("X", Side.SELL, D(1), D(40), D(0))
    b.apply_fill("X", Side.SELL, D(2), D(41), D(0))
    assert "X" not in b.positions
    assert b.realized_pnl == (40 + 82) - D("99.99")
    assert b.identity_gap() == 0


def test_short_and_flip_through_zero() -> None:
    b = books()
    b.apply_fill("X", Side.SELL, D(10), D(50), D(0))
    assert b.positions["X"].quantity == -10 and b.positions["X"].cost == -500
    realized = b.apply_fill("X", Side.BUY, D(15), D(40), D(0))  # cover 10, open 5 long
    assert realized == D(100)
    assert b.positions["X"].quantity == 5 and b.positions["X"].cost == 200
    assert b.identity_gap() == 0


def test_equity_marks_to_last_price_and_reservations_move_no_money() -> None:
    b = books()
    b.apply_fill("X", Side.BUY, D(10), D(100), D(2))
    b.mark("X", D(105), 0)
    b.reserve_cash(D(500))
    assert b.cash + b.reserved == D(10000) - 1000 - 2
    assert b.equity() == D(10000) - 2 + 50
    assert b.unrealized_pnl() == 50
    assert b.equity() == b.initial_cash + b.realized_pnl - b.commissions + b.unrealized_pnl()
    b.release_cash(D(500))
    assert b.reserved == 0


def test_day_rolls_on_event_time() -> None:
    b = books()
    day = 86_400 * 10**9
    b.mark("X", D(100), day + 1)
    b.apply_fill("X", Side.BUY, D(10), D(100), D(0))
    b.mark("X", D(90), day + 2)
    assert b.daily_pnl() == -100
    b.mark("X", D(90), 2 * day)
    assert b.day_start_equity == D(9900) and b.daily_pnl() == 0
    b.mark("X", D(80), day + 5)  # a late event of yesterday: marks, but the day stays
    assert b.day == 2 and b.day_start_equity == D(9900) and b.daily_pnl() == -100


def test_long_decimals_stay_exact() -> None:
    b = books()
    for i in range(1, 40):
        b.apply_fill("X", Side.BUY, D("0.0007"), D("12345.678901234567"), D("0.000001"))
        b.apply_fill("X", Side.SELL, D("0.0003"), D(f"12340.{i:012d}"), D("0.0000013"))
        assert b.identity_gap() == 0
