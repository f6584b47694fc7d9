"""`livecore gateway`: run the paper trade gateway, or print its journal."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_store
from livecore.backtest.tradefile import write_csv
from livecore.cli import costs
from livecore.cli.context import notifications, open_backends, serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import event_time_option, metrics_host_option, metrics_port_option
from livecore.errors import ConfigError
from livecore.gateway.config import GatewayConfig, new_gateway_id
from livecore.gateway.paper import PaperSettings
from livecore.gateway.report import journal_report
from livecore.gateway.service import TradeGateway
from livecore.gateway.telemetry import export_gateway
from livecore.health import BusHealthReporter
from livecore.ops.trades import journal_fills
from livecore.wire import names

app = typer.Typer(
    help="The paper trade gateway: executes `orders`, publishes `orders.feedback`, keeps the journal.",
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
) -> None:
    """Run the gateway in the foreground until SIGTERM or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)
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
        gateway = TradeGateway(bus, coord, store, gateway_config, notices=notices)
        export_gateway(gateway, registry)
        console.print(
            f"gateway {gateway.gateway_id}: group {group}, bus {settings.bus_url}, "
            f"fence {'required' if require_fence else 'optional'} (Ctrl-C to stop)",
            highlight=False,
        )
        with BusHealthReporter(bus=bus, coord=coord, process=names.gateway_process(gateway.gateway_id)):
            gateway.run_until(stop)
        console.print(f"gateway {gateway.gateway_id} stopped: {gateway.stats}", highlight=False)


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
            write_csv(sys.stdout, journal_fills(store.journal, portfolios=[portfolio] if portfolio else ()))
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
            str(fill.commission),
            _time(fill.ts_ns),
        )
    console.print(orders)
    console.print(fills)
