"""Which asset a fill's commission was charged in, and so how it is booked.

A venue charges a fill's fee in one of three assets, and the books must still
equal the venue's balances:

- the **quote** (``USDT`` of ``BTC/USDT``; also an empty asset, which is what
  every report said before venues were connected): cash pays it, as always;
- the **base** (``BTC`` of ``BTC/USDT``, the asset a buy receives): the venue
  keeps part of the bought quantity, so the position shrinks by the fee; it is
  booked as a disposal of that quantity at the fill price whose proceeds pay
  the fee, so ``commissions`` carries its value in the quote and cash does not
  move;
- a **third asset** (``BNB``): neither cash nor the position moves; the amount
  is booked under that asset in ``Books.asset_fees`` (a debit of the
  portfolio's holdings of it, not valued in the quote).

Symbols are ccxt's unified ``BASE/QUOTE`` (a derivative's ``:SETTLE`` suffix
is ignored). A plain symbol (``AAPL``) is its own base and its quote is the
portfolio's currency, which only an empty asset names here.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from enum import StrEnum


class FeeKind(StrEnum):
    QUOTE = "quote"
    BASE = "base"
    OTHER = "other"


def split_symbol(symbol: str) -> tuple[str, str] | None:
    """``(base, quote)`` of ``BASE/QUOTE[:SETTLE]``, or None for a plain symbol."""
    pair = symbol.split(":", 1)[0]
    base, slash, quote = pair.partition("/")
    if not slash or not base or not quote:
        return None
    return base, quote


def quote_of(symbol: str) -> str | None:
    """The quote currency of a ``BASE/QUOTE`` symbol, None for a plain symbol."""
    pair = split_symbol(symbol)
    return None if pair is None else pair[1]


def fee_kind(symbol: str, asset: str) -> FeeKind:
    """How a commission in ``asset`` on a fill of ``symbol`` is booked."""
    if not asset:
        return FeeKind.QUOTE
    pair = split_symbol(symbol)
    if pair is None:
        return FeeKind.BASE if asset == symbol else FeeKind.OTHER
    base, quote = pair
    if asset == quote:
        return FeeKind.QUOTE
    return FeeKind.BASE if asset == base else FeeKind.OTHER


def quote_value(symbol: str, price: Decimal, commission: Decimal, asset: str) -> Decimal:
    """The commission's value in the quote as the books carry it in ``commissions``:
    itself in the quote, at the fill price in the base, nothing in a third asset."""
    kind = fee_kind(symbol, asset)
    if kind is FeeKind.QUOTE:
        return commission
    if kind is FeeKind.OTHER:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 80  # exact: the wire's bounds keep the product within 54 digits
        return commission * price


def asset_name(symbol: str, asset: str, currency: str) -> str:
    """The asset a commission was charged in, by name: a report's empty asset (the
    quote) becomes the symbol's quote, or ``currency`` (the portfolio's) for a
    plain symbol."""
    return asset or quote_of(symbol) or currency
