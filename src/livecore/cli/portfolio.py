"""`livecore portfolio ...`: validate, deploy, list, stop, remove, reload, migrate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from livecore import ops
from livecore.cli.context import settings_of
from livecore.cli.options import ack_timeout_option
from livecore.cli.status import JSON_HELP, emit_json, print_outcome
from livecore.ops.context import OpsConfig
from livecore.ops.validate import validate_specs

app = typer.Typer(help="Validate, deploy, list, stop, remove, reload and migrate portfolios.", no_args_is_help=True)

_OPS_DEFAULTS = OpsConfig()


def _console() -> Console:
    return Console(width=160)


@app.command("validate")
def validate(
    specs: list[Path] = typer.Argument(..., metavar="SPEC...", help="spec files (TOML) or directories of them"),
    json_out: bool = typer.Option(False, "--json", help="print every file's check as JSON"),
) -> None:
    """Check specs without deploying them (no backend is opened): OK per valid file,
    every problem of every invalid one. Exit 0 if all are valid, 2 otherwise."""
    checks = validate_specs(specs)
    if json_out:
        emit_json(
            [{"ok": c.ok, "source": c.source, "portfolio_id": c.portfolio_id, "problems": c.problems} for c in checks]
        )
    else:
        for check in checks:
            lines = [f"OK {check.source} ({check.portfolio_id})"] if check.ok else check.problems
            for line in lines:
                typer.echo(line)
    if not all(c.ok for c in checks):
        raise typer.Exit(2)


@app.command("deploy")
def deploy(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="portfolio spec files (TOML)"),
    reload: bool = typer.Option(False, "--reload", help="reload running portfolios whose spec changed"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Validate every spec (all or nothing) and register them as running.

    The scheduler leader then places them on live nodes."""
    with ops.open_ops(settings_of(ctx), with_bus=reload, config=OpsConfig(ack_timeout=timeout)) as o:
        result = ops.deploy(o, files, reload_updated=reload)
    if json_out:
        emit_json(result)
        return
    console = _console()
    for item in result.portfolios:
        console.print(f"{item.action}: {item.portfolio_id} ({item.source})", highlight=False)
        if item.reload is not None:
            print_outcome(console, item.reload)
        elif item.action == "updated":
            console.print(f"  running copies keep the old spec until `livecore portfolio reload {item.portfolio_id}`")


@app.command("list")
def list_(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Every registered portfolio: desired state and where the scheduler placed it."""
    with ops.open_ops(settings_of(ctx), with_bus=False) as o:
        rows = ops.list_portfolios(o)
    if json_out:
        emit_json(rows)
        return
    table = Table(title="portfolios", title_justify="left")
    for column in ("portfolio", "name", "strategy", "symbols", "desired", "node", "epoch", "updated"):
        table.add_column(column)
    for r in rows:
        updated = datetime.fromtimestamp(r.updated_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            r.portfolio_id,
            r.name,
            r.strategy,
            " ".join(r.symbols),
            r.desired,
            r.node_id or "-",
            str(r.epoch),
            updated,
        )
    _console().print(table)


@app.command("stop")
def stop(
    ctx: typer.Context,
    portfolio_id: str = typer.Argument(..., metavar="ID"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop trading a portfolio: unloaded from its node (snapshot kept), kept in the registry."""
    with ops.open_ops(settings_of(ctx), with_bus=True, config=OpsConfig(ack_timeout=timeout)) as o:
        result = ops.stop_portfolio(o, portfolio_id)
    if json_out:
        emit_json(result)
        return
    console = _console()
    console.print(f"stopped: {portfolio_id} (was {result.was})", highlight=False)
    if result.unload is not None:
        print_outcome(console, result.unload)
    elif result.detail:
        console.print(f"  {result.detail}", highlight=False)


@app.command("remove")
def remove(
    ctx: typer.Context,
    portfolio_id: str = typer.Argument(..., metavar="ID"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop a portfolio (if running) and delete it from the registry."""
    with ops.open_ops(settings_of(ctx), with_bus=True, config=OpsConfig(ack_timeout=timeout)) as o:
        result = ops.remove_portfolio(o, portfolio_id)
    if json_out:
        emit_json(result)
        return
    console = _console()
    if result.unload is not None:
        print_outcome(console, result.unload)
    console.print(f"removed: {portfolio_id}", highlight=False)


@app.command("reload")
def reload(
    ctx: typer.Context,
    portfolio_id: str = typer.Argument(..., metavar="ID"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Have the hosting node re-read the portfolio's spec from the registry (books kept)."""
    with ops.open_ops(settings_of(ctx), with_bus=True, config=OpsConfig(ack_timeout=timeout)) as o:
        result = ops.reload(o, portfolio_id)
    if json_out:
        emit_json(result)
        if not result.ok:
            raise typer.Exit(1)
        return
    print_outcome(_console(), result)


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    portfolio_id: str = typer.Argument(..., metavar="ID"),
    to: str = typer.Option(..., "--to", help="target node id, or `auto` (placement picks, never the source)"),
    timeout: float = typer.Option(
        _OPS_DEFAULTS.migrate_timeout, "--timeout", help="seconds to wait for the scheduler leader's result"
    ),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Move a running portfolio to another node; reports the trading gap.

    Carried out by the scheduler leader, with no moment of two owners."""
    with ops.open_ops(settings_of(ctx), with_bus=False, config=OpsConfig(migrate_timeout=timeout)) as o:
        result = ops.migrate(o, portfolio_id, to)
    if json_out:
        emit_json(result)
    elif result.ok:
        gap = "-" if result.gap_ms is None else f"{result.gap_ms:.1f} ms"
        _console().print(
            f"[green]migrated[/]: {portfolio_id} {result.source} -> {result.target} "
            f"at epoch {result.epoch}; trading gap {gap}",
            highlight=False,
        )
    else:
        _console().print(f"[red]migration failed[/]: {portfolio_id}: {result.detail}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)
