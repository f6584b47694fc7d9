"""Sizers and lot rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.domain.sizers import FixedQuantity, PercentOfEquity, round_lot

D = Decimal


class Ctx:
    def __init__(self, equity: Decimal) -> None:
        self.equity = equity
        self.cash = equity


@pytest.mark.parametrize(
    ("qty", "lot", "expected"),
    [("15", "10", "10"), ("9.99", "1", "9"), ("0.1234", "0.01", "0.12"), ("5", "10", "0")],
)
def test_round_lot_rounds_down(qty: str, lot: str, expected: str) -> None:
    assert round_lot(D(qty), D(lot)) == D(expected)


def test_fixed_quantity_in_lots() -> None:
    assert FixedQuantity(quantity=D(155), lot_size=D(10)).target_quantity("X", D(1), Ctx(D(0))) == 150


def test_percent_of_equity() -> None:
    sizer = PercentOfEquity(percent=10)
    assert sizer.target_quantity("X", D(33), Ctx(D(100000))) == 303
    assert PercentOfEquity(percent=10, lot_size=100).target_quantity("X", D(33), Ctx(D(100000))) == 300
    assert PercentOfEquity(percent=D("2.5"), lot_size=D("0.001")).target_quantity(
        "BTC", D("60000"), Ctx(D(100000))
    ) == D("0.041")
    assert sizer.target_quantity("X", D(33), Ctx(D(-5))) == 0
