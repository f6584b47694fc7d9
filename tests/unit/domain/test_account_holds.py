"""``AccountView.holds`` answers exactly when the pipeline would drop a level
signal, so a strategy that skips such signals places the same orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.domain.account import AccountView
from livecore.domain.books import Books, Position
from livecore.domain.order_book import OrderBook
from livecore.domain.strategy import Direction
from tests.unit.domain.helpers import bar, create, fill, new_orders, spec

D = Decimal
LOT = D(10)


def view(quantity: str | None) -> AccountView:
    books = Books.opening(D(100000))
    if quantity is not None:
        books.positions["X"] = Position(quantity=D(quantity), cost=D(quantity) * 100)
    return AccountView(books, OrderBook(closed_window=10), True, D("0.01"), LOT)


@pytest.mark.parametrize(
    ("quantity", "direction", "held"),
    [
        (None, Direction.FLAT, True),
        (None, Direction.LONG, False),
        (None, Direction.SHORT, False),
        ("0", Direction.FLAT, True),
        ("10", Direction.LONG, True),
        ("25", Direction.LONG, True),
        ("5", Direction.LONG, False),  # less than a lot (dust a fee left) is no position
        ("5", Direction.FLAT, False),
        ("-10", Direction.SHORT, True),
        ("-5", Direction.SHORT, False),
        ("10", Direction.SHORT, False),
        ("-10", Direction.FLAT, False),
    ],
)
def test_holds_as_the_pipeline_decides(quantity: str | None, direction: Direction, held: bool) -> None:
    assert view(quantity).holds("X", direction) is held


def test_a_working_order_is_never_held() -> None:
    p = create(spec(sizer='class = "fixed"\nparams = { quantity = 10 }'))
    for i, close in enumerate(("10", "10", "10", "10", "11")):
        p.on_market(bar(close, i))
    [order] = new_orders(p)
    assert not p._account.holds("AAPL", Direction.LONG)  # bought, not filled yet
    p.on_feedback(fill(order, price=11))
    assert p._account.holds("AAPL", Direction.LONG)
    p.on_market(bar("12", 5))  # still fast > slow: nothing sent, nothing counted
    assert new_orders(p) == [] and p.view().counters.suppressed == 0


@pytest.mark.parametrize("lot", ["0", "-1"])
def test_a_lot_size_that_is_not_positive_is_refused(lot: str) -> None:
    """``holds`` reads "at least a lot" as "a position that way": true only for a lot > 0."""
    with pytest.raises(ValueError, match="lot_size must be > 0"):
        AccountView(Books.opening(D(100)), OrderBook(closed_window=10), True, D("0.01"), D(lot))
