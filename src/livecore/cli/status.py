"""`livecore status`: nodes, portfolios and the scheduler leader at a glance.

Also the small rendering helpers every operator command shares (JSON output,
a node's answer to a command).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import typer
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table

from livecore.cli.context import settings_of
from livecore.cli.tables import nodes_table, portfolios_table
from livecore.ops import open_ops
from livecore.ops import status as ops_status
from livecore.ops.context import CommandOutcome, Ops, OpsConfig
from livecore.ops.halt import HaltReport
from livecore.ops.status import StatusReport
from livecore.ops.venues import VenueAccount

JSON_HELP = "print JSON (stable shape, see docs/OPERATIONS.md) instead of tables"


WIDE = 160  # `livecore status` prints every column: its output is often piped or logged


def emit_json(value: Any) -> None:
    """Pretty, key-stable JSON on stdout."""
    typer.echo(msgspec.json.format(msgspec.json.encode(value), indent=2))


def print_outcome(console: Console, outcome: CommandOutcome) -> None:
    """One line: which node said what. Exit code 1 when the node refused."""
    what = f"{outcome.command} {outcome.portfolio_id}" if outcome.portfolio_id else outcome.command
    colour = "green" if outcome.ok else "red"
    verdict = "ok" if outcome.ok else "refused"
    console.print(f"[{colour}]{verdict}[/]: node {outcome.node_id}: {what}: {outcome.detail}", highlight=False)
    if not outcome.ok:
        raise typer.Exit(1)


def node_action(
    ctx: typer.Context,
    action: Callable[[Ops, str], CommandOutcome],
    node_id: str,
    timeout: float,
    json_out: bool,
) -> None:
    """Run one signed node command (``ops.node_*``) and show the node's answer."""
    with open_ops(settings_of(ctx), with_bus=True, config=OpsConfig(ack_timeout=timeout)) as ops:
        result = action(ops, node_id)
    if json_out:
        emit_json(result)
        if not result.ok:
            raise typer.Exit(1)
        return
    print_outcome(Console(width=160), result)


def render(report: StatusReport, console: Console) -> None:
    for part in renderables(report, console.width):
        console.print(part, highlight=False)


def renderables(report: StatusReport, width: int = WIDE) -> list[RenderableType]:
    """The status report as rich renderables (printed by ``status``, shown live by
    ``run``), its tables fitted to ``width`` columns."""
    parts: list[RenderableType] = []
    if report.halt is not None:
        parts.append(halt_banner(report.halt))
    if report.health != "ok":
        parts.append(f"[bold red]{report.health}[/]")
        parts.extend(f"  [red]{problem}[/]" for problem in report.problems)
    leader = report.leader
    if leader.scheduler_id is None:
        parts.append("[bold red]scheduler: no leader[/] (nothing is placed or failed over)")
    else:
        age = "" if leader.status_age_s is None else f", status {leader.status_age_s:.1f}s old"
        parts.append(f"scheduler leader: [bold]{leader.scheduler_id}[/] (epoch {leader.epoch}{age})")
    parts.append(nodes_table(report, width))
    parts.append(portfolios_table(report, width))
    parts.extend(venue_table(account) for account in report.venues)
    for m in report.migrations:
        parts.append(f"migrating {m.portfolio_id}: {m.source} -> {m.target} ({m.phase}, {m.origin})")
    return parts


def venue_table(account: VenueAccount) -> Table:
    """A venue's balances beside the books, per asset; a mismatch in red."""
    state = "[bold red]MISMATCH[/]" if account.mismatch else "[green]matches the books[/]"
    table = Table(title=f"Venue {account.venue}: {state} (read {account.age_s:.0f}s ago)", title_justify="left")
    for column in ("asset", "venue", "books", "unmanaged", "difference"):
        table.add_column(column, justify="left" if column == "asset" else "right")
    for line in account.assets:
        difference = line.venue - line.books - line.unmanaged
        shown = f"[bold red]{difference}[/]" if line.mismatch else str(difference)
        table.add_row(line.asset, str(line.venue), str(line.books), str(line.unmanaged), shown)
    return table


def halt_banner(halt: HaltReport) -> str:
    """One line that cannot be missed while the cluster kill switch is in force."""
    what = "closing every position" if halt.flatten else "positions may only be reduced"
    pending = sorted(node for node, applied in halt.acks.items() if not applied)
    lagging = f" (not yet applied on: {', '.join(pending)})" if pending else ""
    since = f" since {halt.since}" if halt.since else ""
    by = f" by {halt.by}" if halt.by else ""
    return (
        f"[bold white on red] CLUSTER HALTED [/] {escape(halt.reason or '')}{since}{by}: {what}{lagging}; "
        "`livecore resume-all` resumes"
    )


def status(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show nodes, portfolios and the scheduler leader.

    Nodes: heartbeat age, load, queue, cpu, memory, backpressure, state.
    Portfolios: node, epoch, state, equity, cash, positions, last order."""
    with open_ops(settings_of(ctx), with_bus=False) as ops:
        report = ops_status(ops)
    if json_out:
        emit_json(report)
    else:
        render(report, Console(width=WIDE))
