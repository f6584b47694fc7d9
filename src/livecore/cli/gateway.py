"""`livecore gateway`: run the trade gateway (paper, or a venue through ccxt), or
print its journal."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_store
from livecore.backtest.tradefile import write_csv
from livecore.cli import costs
from livecore.cli.context import notifications, open_backends, serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import (
    configure_logging,
    event_time_option,
    log_level_option,
    metrics_host_option,
    metrics_port_option,
)
from livecore.cli.status import venue_table
from livecore.errors import ConfigError
from livecore.gateway.broker import BrokerAdapter
from livecore.gateway.config import GatewayConfig, new_gateway_id
from livecore.gateway.paper import PaperSettings
from livecore.gateway.report import journal_report
from livecore.gateway.service import TradeGateway
from livecore.gateway.telemetry import export_gateway
from livecore.health import BusHealthReporter
from livecore.ops import open_ops
from livecore.ops.trades import journal_fills, registered_currencies
from livecore.ops.venues import record_snapshot, venue_accounts, venue_problems
from livecore.ops.venues import reset_baseline as reset
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.venues.ccxt.broker import CcxtBroker
from livecore.venues.ccxt.caps import VenueCaps
from livecore.venues.ccxt.config import VenueConfig
from livecore.venues.ccxt.credentials import load_credentials
from livecore.venues.ccxt.profiles import parse_venue
from livecore.venues.ccxt.telemetry import export_venue
from livecore.wire import names

app = typer.Typer(
    help="The trade gateway: executes `orders` (paper, or on a venue through ccxt), publishes `orders.feedback`, "
    "keeps the journal.",
    no_args_is_help=False,
)


def build_config(
    *,
    paper: PaperSettings,
    require_fence: bool,
    group: str,
    topic_prefix: str,
    event_time: bool = False,
) -> GatewayConfig:
    """The gateway's config, with the process's id; a bad value is a one-line ConfigError."""
    return GatewayConfig(
        paper=paper,
        require_fence=require_fence,
        group_id=group,
        topic_prefix=topic_prefix,
        gateway_id=new_gateway_id(),
        event_time=event_time,
    )


_DEFAULTS = GatewayConfig()
PAPER = "paper"


def venue_config(
    venue: str,
    *,
    sandbox: bool,
    live: bool,
    venue_url: str | None,
    max_notional: str | None,
    max_orders_per_minute: int | None,
) -> VenueConfig | None:
    """None for paper; a venue's config, refusing a venue without --sandbox or --live."""
    if venue == PAPER:
        if sandbox or live or venue_url:
            raise ConfigError("--sandbox, --live and --venue-url choose where a venue trades: give --venue ccxt:NAME")
        return None
    profile = parse_venue(venue)
    if sandbox == live:
        raise ConfigError(f"{venue}: give --sandbox (the venue's testnet) or --live (real money), exactly one")
    cap = costs.option_decimal("--max-notional", max_notional) if max_notional is not None else None
    try:
        caps = VenueCaps(max_notional=cap, orders_per_minute=max_orders_per_minute)
        return VenueConfig(venue=profile.name, sandbox=sandbox, live=live, venue_url=venue_url, caps=caps)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def venue_broker(config: VenueConfig, credentials_file: Path | None, coord: Coordination, store: Store) -> CcxtBroker:
    """The ccxt broker, its credentials from the environment or the file, its account
    snapshots written for ``livecore status``."""
    profile = parse_venue(f"ccxt:{config.venue}")
    credentials = load_credentials(os.environ, credentials_file, needs_password=profile.needs_password)
    ttl = max(3 * config.snapshot_interval_s, 30.0)
    return CcxtBroker(
        config,
        journal=store.journal,
        credentials=credentials,
        on_snapshot=lambda snapshot: record_snapshot(coord, store, snapshot, ttl),
    )


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    slippage_bps: str = costs.SLIPPAGE_BPS,
    commission_per_share: str = costs.COMMISSION_PER_SHARE,
    commission_bps: str = costs.COMMISSION_BPS,
    commission_min: str = costs.COMMISSION_MIN,
    participation: str | None = costs.PARTICIPATION,
    fee_asset: str = costs.FEE_ASSET,
    fee_asset_price: str | None = costs.FEE_ASSET_PRICE,
    require_fence: bool = typer.Option(
        _DEFAULTS.require_fence,
        "--require-fence/--no-require-fence",
        help="reject orders of portfolios without an ownership fence (off: hand-published demo orders)",
    ),
    group: str = typer.Option(
        _DEFAULTS.group_id, "--group", metavar="GROUP", help="consumer group shared by every gateway process"
    ),
    event_time: bool = event_time_option(),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
    venue: str = typer.Option(
        PAPER, "--venue", metavar="VENUE", help="paper, or a real venue through ccxt: ccxt:binance, ccxt:okx"
    ),
    sandbox: bool = typer.Option(False, "--sandbox", help="trade on the venue's testnet"),
    live: bool = typer.Option(False, "--live", help="trade on the venue itself, with real money"),
    venue_url: str | None = typer.Option(
        None, "--venue-url", metavar="URL", help="the venue's host replaced by this one (livecore venue-sim)"
    ),
    credentials_file: Path | None = typer.Option(
        None,
        "--credentials-file",
        metavar="PATH",
        help="TOML with key, secret (and password), mode 0600; default: LIVECORE_VENUE_KEY/SECRET/PASSWORD",
    ),
    max_notional: str | None = typer.Option(
        None, "--max-notional", metavar="AMOUNT", help="a venue order's largest notional, in its quote currency"
    ),
    max_orders_per_minute: int | None = typer.Option(
        None, "--max-orders-per-minute", metavar="N", help="orders sent to the venue in any 60 s, at most"
    ),
    log_level: str = log_level_option(),
) -> None:
    """Run the gateway in the foreground until SIGTERM or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    configure_logging(log_level)
    settings = settings_of(ctx)
    venue_settings = venue_config(
        venue,
        sandbox=sandbox,
        live=live,
        venue_url=venue_url,
        max_notional=max_notional,
        max_orders_per_minute=max_orders_per_minute,
    )
    paper = costs.paper_settings(
        slippage_bps=slippage_bps,
        commission_per_share=commission_per_share,
        commission_bps=commission_bps,
        commission_min=commission_min,
        participation=participation,
        fee_asset=fee_asset,
        fee_asset_price=fee_asset_price,
    )
    gateway_config = build_config(
        paper=paper, require_fence=require_fence, group=group, topic_prefix=settings.topic_prefix, event_time=event_time
    )
    console = Console(stderr=True)
    with (
        notifications(settings, f"gateway {gateway_config.gateway_id}") as notices,
        serving_metrics(metrics_host, metrics_port, console) as registry,
        open_backends(settings) as (bus, coord, store),
        stop_on_signals() as stop,
    ):
        broker: BrokerAdapter | None = None
        where = "paper"
        if venue_settings is not None:
            broker = venue_broker(venue_settings, credentials_file, coord, store)
            export_venue(broker, registry)
            where = f"{venue} {_where(venue_settings)}"
        gateway = TradeGateway(bus, coord, store, gateway_config, broker=broker, notices=notices)
        export_gateway(gateway, registry)
        console.print(
            f"gateway {gateway.gateway_id} ({where}): group {group}, bus {settings.bus_url}, "
            f"fence {'required' if require_fence else 'optional'} (Ctrl-C to stop)",
            highlight=False,
        )
        with BusHealthReporter(bus=bus, coord=coord, process=names.gateway_process(gateway.gateway_id)):
            gateway.run_until(stop)
        console.print(f"gateway {gateway.gateway_id} stopped: {gateway.stats}", highlight=False)


def _where(config: VenueConfig) -> str:
    if config.venue_url:
        return f"at {config.venue_url}"
    return "on its testnet" if config.sandbox else "[bold white on red] LIVE: REAL MONEY [/]"


def _time(ns: int) -> str:
    if ns <= 0:
        return ""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@app.command("journal")
def journal(
    ctx: typer.Context,
    portfolio: str | None = typer.Option(None, "--portfolio", help="only this portfolio"),
    as_json: bool = typer.Option(False, "--json", help="stable JSON instead of tables"),
    as_csv: bool = typer.Option(
        False, "--csv", help="only the fills, as CSV in the columns of a backtest's trades.csv (see `trades export`)"
    ),
) -> None:
    """Print the journaled orders and fills."""
    if as_json and as_csv:
        raise ConfigError("--json and --csv are two formats: give one")
    store = open_store(settings_of(ctx).db_url)
    try:
        if as_csv:
            currencies = registered_currencies(store.registry)
            chosen = [portfolio] if portfolio else ()
            write_csv(sys.stdout, journal_fills(store.journal, portfolios=chosen, currencies=currencies))
            return
        report = journal_report(store.journal.orders(portfolio), store.journal.feedback(portfolio))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(report.as_json(), sort_keys=True, indent=2))
        return
    console = Console()
    orders = Table(title=f"Orders ({len(report.orders)})")
    for column in ("order", "portfolio", "ep", "symbol", "side", "qty", "type", "limit", "status", "filled", "avg px"):
        right = column in {"ep", "qty", "limit", "filled", "avg px"}
        orders.add_column(column, justify="right" if right else "left", no_wrap=column in {"order", "portfolio"})
    for row in report.orders:
        orders.add_row(
            row.client_order_id,
            row.portfolio_id,
            str(row.epoch),
            row.symbol,
            row.side,
            str(row.quantity),
            row.order_type,
            str(row.limit_price or ""),
            row.status + (f" ({row.reason})" if row.reason else ""),
            str(row.filled_qty),
            str(row.avg_price or ""),
        )
    fills = Table(title=f"Fills ({len(report.fills)})")
    for column in ("seq", "fill", "portfolio", "symbol", "side", "qty", "price", "commission", "time (UTC)"):
        right = column in {"seq", "qty", "price", "commission"}
        fills.add_column(column, justify="right" if right else "left", no_wrap=column in {"fill", "portfolio"})
    for fill in report.fills:
        fills.add_row(
            str(fill.seq),
            fill.fill_id,
            fill.portfolio_id,
            fill.symbol,
            fill.side,
            str(fill.qty),
            str(fill.price),
            f"{fill.commission} {fill.commission_asset}".strip(),
            _time(fill.ts_ns),
        )
    console.print(orders)
    console.print(fills)


@app.command("venue")
def venue_account(
    ctx: typer.Context,
    venue: str = typer.Argument(..., metavar="VENUE", help="ccxt:binance, ccxt:okx"),
    reset_baseline: bool = typer.Option(
        False,
        "--reset-baseline",
        help="take what the account now holds beyond the books as the unmanaged amount "
        "(after a deposit, a withdrawal or removing a portfolio)",
    ),
    as_json: bool = typer.Option(False, "--json", help="stable JSON instead of a table"),
) -> None:
    """The venue's balances beside the books (written by its running gateway); exit 1 on a mismatch."""
    name = parse_venue(venue).name
    with open_ops(settings_of(ctx), with_bus=False) as ops:
        if reset_baseline:
            try:
                reset(ops, name)
            except LookupError as exc:
                raise ConfigError(str(exc)) from None
        accounts = [a for a in venue_accounts(ops) if a.venue == name]
    if not accounts:
        raise ConfigError(f"no snapshot of venue {name}: is its gateway running?")
    [account] = accounts
    if as_json:
        typer.echo(msgspec.json.encode(account).decode())
    else:
        console = Console()
        console.print(venue_table(account))
        for line in venue_problems(accounts):
            console.print(f"[red]{line}[/]", highlight=False)
    if account.mismatch:
        raise typer.Exit(1)
