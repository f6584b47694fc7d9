"""Commissions and locks: which asset pays, how much, and what a limit order holds.

Pure. ``free`` reads the account's free balance of an asset: a third fee asset
(``BNB``) pays only while the account holds enough of it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from livecore.venues.sim.model import CommissionSettings, FeeAsset, MarketSpec, Order, Side

COMMISSION_QUANTUM = Decimal("1e-8")  # the venues report commissions to 8 decimals


def paid_asset(spec: MarketSpec, side: Side) -> str:
    """What an order gives up: the quote on a buy, the base on a sell."""
    return spec.quote if side is Side.BUY else spec.base


def commission(
    settings: CommissionSettings,
    spec: MarketSpec,
    side: Side,
    price: Decimal,
    qty: Decimal,
    *,
    maker: bool,
    free: Callable[[str], Decimal],
) -> tuple[Decimal, str]:
    """The commission of one fill and the asset that pays it."""
    rate, setting = (settings.maker if maker else settings.taker), settings.asset
    received = spec.base if side is Side.BUY else spec.quote
    if setting == FeeAsset.RECEIVED:
        asset = received
    elif setting == FeeAsset.QUOTE:
        asset = spec.quote
    elif setting == FeeAsset.BASE:
        asset = spec.base
    else:
        amount = (price * qty * rate / settings.asset_price).quantize(COMMISSION_QUANTUM)
        if free(setting) >= amount:
            return amount, setting
        asset = received  # not enough of the third asset: the received one pays, as on Binance
    charged = qty * rate if asset == spec.base else price * qty * rate
    return charged.quantize(COMMISSION_QUANTUM), asset


def lock_share(settings: CommissionSettings, spec: MarketSpec, order: Order, qty: Decimal) -> Decimal:
    """What ``qty`` of a limit order holds of the paid asset (the fee too when that asset pays it)."""
    assert order.price is not None
    amount = order.price * qty if order.side is Side.BUY else qty
    paid = paid_asset(spec, order.side)
    fee_in_paid = settings.asset in (paid, FeeAsset.QUOTE if order.side is Side.BUY else FeeAsset.BASE)
    rate = max(settings.maker, settings.taker) if fee_in_paid else Decimal(0)
    return amount * (1 + rate)
