"""`livecore node --id ID`: run an execution node in the foreground.

The group's callback runs the node when no subcommand is given, so operator
subcommands (``livecore node shutdown ID`` ...) can be added to ``app``.
SIGTERM and Ctrl-C stop the node gracefully (final snapshots, keys removed);
a ``node.shutdown`` command ends the process the same way.
"""

from __future__ import annotations

import threading
import time

import typer
from rich.console import Console

from livecore.cli.context import notifications, open_backends, serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import (
    ack_timeout_option,
    configure_logging,
    event_time_option,
    log_level_option,
    metrics_host_option,
    metrics_port_option,
)
from livecore.errors import BackendUnavailable, ConfigError
from livecore.node import ExecutionNode, NodeConfig
from livecore.node.telemetry import export_node
from livecore.ports.bus import BusError

app = typer.Typer(
    help="Execution nodes: `livecore node --id ID` runs one in the foreground.",
    no_args_is_help=False,
)

_DEFAULTS = NodeConfig()


def build_config(
    heartbeat_interval: float,
    heartbeat_ttl: float,
    capacity: int,
    workers: int,
    max_tick_age: float,
    topic_prefix: str,
    switch_interval_ms: float = 0.0,
    event_time: bool = False,
    all_partitions: bool = False,
) -> NodeConfig:
    """A NodeConfig from CLI values (0 turns an optional limit off); a bad value
    is the config's one-line ConfigError."""
    return NodeConfig(
        heartbeat_interval=heartbeat_interval,
        heartbeat_ttl=heartbeat_ttl,
        capacity=capacity,
        workers=workers,
        max_tick_age_s=max_tick_age if max_tick_age > 0 else None,
        topic_prefix=topic_prefix,
        gil_switch_interval_s=switch_interval_ms / 1000 if switch_interval_ms > 0 else None,
        event_time=event_time,
        all_market_partitions=all_partitions,
    )


def status_line(node: ExecutionNode, previous_events: int, elapsed: float) -> str:
    s = node.status()
    rate = (s["events"] - previous_events) / elapsed if elapsed > 0 else 0.0
    p99 = s["latency_p99_us"]
    latency = f"{p99:.0f}us" if p99 is not None else "-"
    amplification = s["read_amplification"]
    read = f"{amplification:.2f}" if amplification is not None else "-"
    return (
        f"[bold]{s['node_id']}[/] {s['state']}{'' if s['ready'] else ' (starting)'} "
        f"portfolios={s['portfolios']} events={s['events']} ({rate:.0f}/s) conflated={s['conflated']} "
        f"stale={s['stale']} orders={s['orders']} dlq={s['dead_letters']} tick->order p99={latency} "
        f"partitions={len(s['market_partitions'])} read amplification={read}"
    )


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    node_id: str | None = typer.Option(None, "--id", help="this node's id (unique among live nodes)"),
    heartbeat_interval: float = typer.Option(
        _DEFAULTS.heartbeat_interval, "--heartbeat-interval", help="seconds between heartbeats (>= 0.5)"
    ),
    heartbeat_ttl: float = typer.Option(
        _DEFAULTS.heartbeat_ttl, "--heartbeat-ttl", help="seconds without heartbeat before the node counts as dead"
    ),
    capacity: int = typer.Option(_DEFAULTS.capacity, "--capacity", help="most portfolios this node hosts"),
    workers: int = typer.Option(_DEFAULTS.workers, "--workers", help="worker threads running the portfolios"),
    max_tick_age: float = typer.Option(
        _DEFAULTS.max_tick_age_s or 0.0, "--max-tick-age", help="skip ticks older than this many seconds (0: keep all)"
    ),
    switch_interval_ms: float = typer.Option(
        (_DEFAULTS.gil_switch_interval_s or 0.0) * 1000,
        "--switch-interval-ms",
        help="Python GIL switch interval in ms (0: leave the default 5 ms)",
    ),
    event_time: bool = event_time_option(),
    all_partitions: bool = typer.Option(
        _DEFAULTS.all_market_partitions,
        "--all-partitions/--own-partitions",
        help="read every partition of market.data, not only those of the hosted portfolios' symbols "
        "(for a publisher that does not partition by the wire's CRC-32 of the symbol)",
    ),
    status_every: float = typer.Option(5.0, "--status-every", help="seconds between status lines (0: none)"),
    log_level: str = log_level_option(),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """Run a node until SIGTERM, Ctrl-C or a `node.shutdown` command."""
    if ctx.invoked_subcommand is not None:
        return
    if not node_id:
        raise ConfigError("livecore node needs --id ID")
    settings = settings_of(ctx)
    config = build_config(
        heartbeat_interval,
        heartbeat_ttl,
        capacity,
        workers,
        max_tick_age,
        settings.topic_prefix,
        switch_interval_ms,
        event_time,
        all_partitions,
    )
    configure_logging(log_level)
    console = Console(stderr=True)
    with (
        notifications(settings, f"node {node_id}") as notices,
        serving_metrics(metrics_host, metrics_port, console) as registry,
        open_backends(settings) as (bus, coord, store),
        stop_on_signals() as stop,
    ):
        node = ExecutionNode(
            node_id, bus=bus, coord=coord, store=store, config=config, secret=settings.secret, notices=notices
        )
        export_node(node, registry)
        try:
            node.start()
        except BusError as exc:
            raise BackendUnavailable(f"cannot start node {node_id}: {exc}") from None
        console.print(
            f"node {node_id}: bus {settings.bus_url}, coordination {settings.coord_url}, "
            f"capacity {config.capacity}, {config.workers} workers, heartbeat "
            f"{config.heartbeat_interval:g}s/ttl {config.heartbeat_ttl:g}s (Ctrl-C to stop)",
            highlight=False,
            soft_wrap=True,
        )
        _run_until(node, stop, console, status_every)
        node.stop()
        console.print(f"node {node_id} stopped", highlight=False, soft_wrap=True)


def _run_until(node: ExecutionNode, stop: threading.Event, console: Console, status_every: float) -> None:
    """Wait for a signal or for the node to stop itself; print a status line now and then."""
    tick = 0.2
    last_print = time.monotonic()
    last_events = 0
    while not stop.is_set() and not node.stopped.is_set():
        stop.wait(tick)
        now = time.monotonic()
        if status_every > 0 and now - last_print >= status_every:
            console.print(status_line(node, last_events, now - last_print), highlight=False, soft_wrap=True)
            last_events = node.total_event_count
            last_print = now


# --- operator commands: signed, each waits for the node's ack ------------------

_JSON_HELP = "print the node's answer as JSON"


@app.command("shutdown")
def shutdown(
    ctx: typer.Context,
    node_id: str = typer.Argument(..., metavar="ID"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Stop node ID gracefully; the scheduler fails its portfolios over."""
    from livecore import ops
    from livecore.cli.status import node_action

    node_action(ctx, ops.node_shutdown, node_id, timeout, json_out)


@app.command("pause")
def pause(
    ctx: typer.Context,
    node_id: str = typer.Argument(..., metavar="ID"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Stop emitting orders on every portfolio of node ID (fills and prices still applied)."""
    from livecore import ops
    from livecore.cli.status import node_action

    node_action(ctx, ops.node_pause, node_id, timeout, json_out)


@app.command("resume")
def resume(
    ctx: typer.Context,
    node_id: str = typer.Argument(..., metavar="ID"),
    timeout: float = ack_timeout_option(),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Let node ID emit orders again after `pause`."""
    from livecore import ops
    from livecore.cli.status import node_action

    node_action(ctx, ops.node_resume, node_id, timeout, json_out)
