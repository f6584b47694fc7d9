"""`livecore halt` and `livecore resume-all`: the cluster kill switch."""

from __future__ import annotations

import getpass
import socket

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from livecore.cli.context import settings_of
from livecore.cli.options import ack_timeout_option
from livecore.cli.status import JSON_HELP, emit_json
from livecore.notify import announce_cluster_halt, notify_settings
from livecore.ops import open_ops
from livecore.ops.context import OpsConfig
from livecore.ops.halt import HaltReport, halt, resume


def _operator() -> str:
    """Who pressed the switch, for the audit: ``user@host``."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    return f"{user}@{socket.gethostname()}"


def _show(report: HaltReport, json_out: bool) -> None:
    if json_out:
        emit_json(report)
        return
    console = Console(width=160)
    if report.halted:
        what = "closing every position" if report.flatten else "positions may only be reduced"
        console.print(f"[bold white on red] CLUSTER HALTED [/] {escape(report.reason or '')}: {what}", highlight=False)
    else:
        console.print("[bold green]cluster resumed[/]: portfolios trade again", highlight=False)
    table = Table(title="nodes", title_justify="left")
    for column in ("node", "applied", "answer"):
        table.add_column(column)
    for node_id, answer in sorted(report.answers.items()):
        applied = "-" if answer.ok is None else ("yes" if answer.ok else "NO")
        table.add_row(node_id, applied, escape(answer.detail))
    console.print(table)
    if not report.answers:
        console.print("no live node: the state is recorded and every node applies it when it starts")
    elif any(a.ok is not True for a in report.answers.values()):
        console.print("[yellow]a node that did not answer applies the state at its next heartbeat[/]")


def halt_command(
    ctx: typer.Context,
    reason: str = typer.Option(..., "--reason", help="why (recorded, shown everywhere until resumed)"),
    flatten: bool = typer.Option(False, "--flatten", help="also close every position with market orders"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Halt the whole cluster: no node opens a position, the gateway cancels resting
    orders and refuses any order that would open or grow one; --flatten closes
    every position. Lasts until `livecore resume-all`, across restarts."""
    settings = settings_of(ctx)
    operator = _operator()
    with open_ops(settings, with_bus=True, config=OpsConfig(ack_timeout=timeout)) as ops:
        report = halt(ops, reason=reason, flatten=flatten, by=operator)
    _show(report, json_out)
    announce_cluster_halt(notify_settings(settings), reason=reason, by=operator)


def resume_all_command(
    ctx: typer.Context,
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Lift the cluster halt: every portfolio trades again."""
    with open_ops(settings_of(ctx), with_bus=True, config=OpsConfig(ack_timeout=timeout)) as ops:
        report = resume(ops, by=_operator())
    _show(report, json_out)
