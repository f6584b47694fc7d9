"""Sizers: how many units a long or short intent means.

A sizer answers with the absolute position size for an intent; the pipeline
turns it into the order that moves the position there. Quantities are rounded
down to a multiple of ``lot_size``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from livecore.domain.books import ACCOUNTING, divide
from livecore.domain.params import Configurable, Param

ZERO = Decimal(0)
_divide_int, _multiply = ACCOUNTING.divide_int, ACCOUNTING.multiply  # no context switch per order


def round_lot(quantity: Decimal, lot_size: Decimal) -> Decimal:
    """``quantity`` rounded toward zero to a multiple of ``lot_size``, exactly (in the
    books' wide context: the default 28 digits raise DivisionImpossible on large
    quotients such as 1E+18 // 1E-12)."""
    return _multiply(_divide_int(quantity, lot_size), lot_size)  # ``//`` and ``*`` in that context


class SizingContext(Protocol):
    @property
    def equity(self) -> Decimal: ...
    @property
    def cash(self) -> Decimal: ...


class Sizer(Configurable):
    """Base of sizers. ``lot_size`` is shared: risk rules shrink in whole lots too."""

    lot_size = Param(Decimal, Decimal(1), gt=ZERO, doc="the smallest tradable step")

    def target_quantity(self, symbol: str, price: Decimal, ctx: SizingContext) -> Decimal:
        """Absolute position size (>= 0, in whole lots) for an intent in ``symbol``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement target_quantity")


class FixedQuantity(Sizer):
    """The same quantity every time."""

    quantity = Param(Decimal, gt=ZERO, doc="units per position")

    def target_quantity(self, symbol: str, price: Decimal, ctx: SizingContext) -> Decimal:
        return round_lot(self.quantity, self.lot_size)


class PercentOfEquity(Sizer):
    """A position worth ``percent`` of the current equity."""

    percent = Param(Decimal, Decimal(10), gt=ZERO, le=Decimal(100), doc="percent of equity per position")

    def target_quantity(self, symbol: str, price: Decimal, ctx: SizingContext) -> Decimal:
        budget = ctx.equity * self.percent / 100
        if budget <= 0:
            return ZERO
        return round_lot(divide(budget, price), self.lot_size)
