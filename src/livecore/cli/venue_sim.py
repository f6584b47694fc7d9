"""`livecore venue-sim binance|okx`: a local venue on the real wire, to rehearse
against and to test with (ccxt signs and parses unmodified against it)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import typer
from rich.console import Console

from livecore.errors import ConfigError
from livecore.venues.sim.model import CommissionSettings, MarketSpec, default_market
from livecore.venues.sim.venue import VENUES, Credentials, VenueSettings

DEFAULT_PORT = 8790
DEFAULT_HOST = "127.0.0.1"
_SETTINGS, _CREDENTIALS, _COMMISSION = VenueSettings(), Credentials(), CommissionSettings()  # --help shows these


_DEFAULT_SYMBOLS = ",".join(market.symbol for market in _SETTINGS.markets)


def _pairs(text: str, option: str) -> dict[str, Decimal]:
    """``A=1,B=2.5`` -> {"A": 1, "B": 2.5}."""
    pairs: dict[str, Decimal] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise InvalidOperation
            pairs[name.strip()] = Decimal(value.strip())
        except InvalidOperation:
            raise ConfigError(f"{option} wants NAME=AMOUNT pairs separated by commas, got {item!r}") from None
    return pairs


def _decimal(text: str, option: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{option} wants a decimal number, got {text!r}") from None


def _markets(text: str) -> tuple[MarketSpec, ...]:
    try:
        return tuple(default_market(s.strip()) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise ConfigError(f"--symbols: {exc}") from None


def _text(values: Mapping[str, Decimal]) -> str:
    return ",".join(f"{k}={v}" for k, v in values.items())


def venue_sim(
    venue: str = typer.Argument(..., help=f"which venue to imitate: {' or '.join(VENUES)}"),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="address to listen on"),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="port to listen on (0: a free one)"),
    api_key: str = typer.Option(_CREDENTIALS.api_key, "--api-key", envvar="LIVECORE_SIM_API_KEY"),
    secret: str = typer.Option(_CREDENTIALS.secret, "--secret", envvar="LIVECORE_SIM_API_SECRET"),
    passphrase: str = typer.Option(
        _CREDENTIALS.passphrase, "--passphrase", envvar="LIVECORE_SIM_PASSPHRASE", help="OKX's API passphrase"
    ),
    balances: str = typer.Option(_text(_SETTINGS.balances), "--balances", help="the account's starting balances"),
    symbols: str = typer.Option(_DEFAULT_SYMBOLS, "--symbols", help="spot markets, BASE/QUOTE"),
    prices: str = typer.Option("", "--prices", help="starting last prices, e.g. BTC/USDT=50000", show_default=False),
    taker: str = typer.Option(str(_COMMISSION.taker), "--taker-fee", help="taker commission rate"),
    maker: str = typer.Option(
        str(_COMMISSION.maker), "--maker-fee", help="maker commission rate (negative: a maker rebate, okx only)"
    ),
    fee_asset: str = typer.Option(
        _COMMISSION.asset, "--fee-asset", help="who pays the commission: received, quote, base, or an asset (BNB)"
    ),
    fee_asset_price: str = typer.Option(
        str(_COMMISSION.asset_price), "--fee-asset-price", help="a third fee asset's price in the quote currency"
    ),
) -> None:
    """Serve a simulated Binance or OKX spot venue until Ctrl-C (control API under /_sim)."""
    from livecore.venues.sim.server import VenueSimServer  # uvicorn: only for this command

    if venue not in VENUES:
        raise ConfigError(f"venue must be one of {', '.join(VENUES)}, got {venue!r}")
    try:
        settings = VenueSettings(
            venue=venue,
            markets=_markets(symbols),
            balances=_pairs(balances, "--balances"),
            prices=_pairs(prices, "--prices"),
            commission=CommissionSettings(
                taker=_decimal(taker, "--taker-fee"),
                maker=_decimal(maker, "--maker-fee"),
                asset=fee_asset,
                asset_price=_decimal(fee_asset_price, "--fee-asset-price"),
            ),
            credentials=Credentials(api_key=api_key, secret=secret, passphrase=passphrase),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    unknown = sorted(set(settings.prices) - {m.symbol for m in settings.markets})
    if unknown:
        raise ConfigError(f"--prices names markets not in --symbols: {', '.join(unknown)}")
    server = VenueSimServer(settings, host=host, port=port)
    url = server.listen()
    Console(stderr=True).print(
        f"simulated {venue} spot on {url} (websockets {server.ws_url}), control API {url}/_sim; "
        f"markets {', '.join(m.symbol for m in settings.markets)}; API key {api_key!r}",
        highlight=False,
    )
    server.serve_forever()
