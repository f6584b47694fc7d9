"""The paper gateway's fill-model options, shared by ``livecore gateway`` and
``livecore backtest`` so that they mean the same thing in both."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer

from livecore.errors import ConfigError
from livecore.gateway.costs import CostModel
from livecore.gateway.paper import PaperSettings

_COSTS = CostModel()  # the defaults are the cost model's own
_PAPER = PaperSettings()

SLIPPAGE_BPS = typer.Option(
    str(_COSTS.slippage_bps), "--slippage-bps", metavar="BPS", help="slippage against the trader, basis points"
)
COMMISSION_PER_SHARE = typer.Option(
    str(_COSTS.commission_per_share), "--commission-per-share", metavar="AMOUNT", help="commission per share"
)
COMMISSION_BPS = typer.Option(
    str(_COSTS.commission_bps), "--commission-bps", metavar="BPS", help="commission in basis points of value"
)
COMMISSION_MIN = typer.Option(
    str(_COSTS.commission_min), "--commission-min", metavar="AMOUNT", help="minimum commission per order"
)
PARTICIPATION = typer.Option(
    None,
    "--participation",
    metavar="FRACTION",
    help="max fraction (0-1] of each bar's/tick's volume filled (partial fills)",
)

FEE_ASSET = typer.Option(
    _PAPER.fee_asset,
    "--fee-asset",
    metavar="ASSET",
    help="what commissions are charged in: quote, received (the base on buys, the quote on sells, as spot "
    "venues do), base (the base on both sides: the position pays) or a third asset such as BNB "
    "(with --fee-asset-price)",
)
FEE_ASSET_PRICE = typer.Option(
    None, "--fee-asset-price", metavar="PRICE", help="a third fee asset's price in the quote currency"
)


def option_decimal(name: str, text: str) -> Decimal:
    """A finite, non-negative number given on the command line."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{name}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{name}: must be a finite number >= 0, got {text}")
    return value


def paper_settings(
    *,
    slippage_bps: str,
    commission_per_share: str,
    commission_bps: str,
    commission_min: str,
    participation: str | None,
    fee_asset: str = _PAPER.fee_asset,
    fee_asset_price: str | None = None,
) -> PaperSettings:
    """The fill model from CLI text; a bad value is a one-line ``ConfigError``."""
    try:
        costs = CostModel(
            slippage_bps=option_decimal("--slippage-bps", slippage_bps),
            commission_per_share=option_decimal("--commission-per-share", commission_per_share),
            commission_bps=option_decimal("--commission-bps", commission_bps),
            commission_min=option_decimal("--commission-min", commission_min),
        )
        cap = option_decimal("--participation", participation) if participation is not None else None
        rate = option_decimal("--fee-asset-price", fee_asset_price) if fee_asset_price is not None else None
        return PaperSettings(costs=costs, participation=cap, fee_asset=fee_asset, fee_asset_price=rate)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
