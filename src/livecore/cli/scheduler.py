"""`livecore scheduler`: run a scheduler in the foreground. Start as many as you
like (on different machines): one leads, the others stand by and take over
within the lease TTL."""

from __future__ import annotations

import logging
import threading

import typer
from rich.console import Console

from livecore.cli.context import notifications, open_backends, serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import metrics_host_option, metrics_port_option
from livecore.control.commands import CommandChannel
from livecore.scheduler.config import SchedulerConfig, lease_margin_for
from livecore.scheduler.service import Scheduler
from livecore.scheduler.telemetry import export_scheduler
from livecore.topology import ensure_topics
from livecore.wire import names
from livecore.wire.signing import CommandSigner

_DEFAULTS = SchedulerConfig()


def scheduler(
    ctx: typer.Context,
    scheduler_id: str = typer.Option("", "--id", help="this scheduler's id (default: random)"),
    tick: float = typer.Option(_DEFAULTS.tick_interval, "--tick", help="seconds between passes (and lease renewals)"),
    lease_ttl: float = typer.Option(
        _DEFAULTS.lease_ttl, "--lease-ttl", help="leader lease TTL: a standby takes over within it"
    ),
    load_timeout: float = typer.Option(
        _DEFAULTS.load_timeout, "--load-timeout", help="resend an unconfirmed load after this"
    ),
    ack_timeout: float = typer.Option(
        _DEFAULTS.ack_timeout, "--ack-timeout", help="migration: wait this long for each ack"
    ),
    dead_after: float = typer.Option(
        _DEFAULTS.dead_after or 0.0,
        "--dead-after",
        help="also call a node dead if its last heartbeat is older (0: key TTL only)",
    ),
    session_poll: float = typer.Option(
        _DEFAULTS.session_poll or 0.0,
        "--session-poll",
        help="between passes, read the live nodes' sessions this often; a closed one fails its node over at once "
        "(0: at each pass only)",
    ),
    default_capacity: int = typer.Option(
        _DEFAULTS.default_capacity, "--default-capacity", help="capacity of nodes that report none"
    ),
    affinity_slack: int = typer.Option(
        _DEFAULTS.affinity_slack, "--affinity-slack", help="extra load accepted to share symbols"
    ),
    rebalance_moves: int = typer.Option(
        _DEFAULTS.rebalance_moves, "--rebalance-moves", help="migrations per pass after a node joins"
    ),
    duration: float = typer.Option(0.0, "--duration", help="stop after this many seconds (0: until Ctrl-C)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log every placement and command"),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """Place portfolios on live nodes, fail them over, migrate and reconcile them."""
    settings = settings_of(ctx)
    overrides = {"scheduler_id": scheduler_id} if scheduler_id else {}
    config = SchedulerConfig(
        tick_interval=tick,
        lease_ttl=lease_ttl,
        lease_margin=lease_margin_for(lease_ttl),
        load_timeout=load_timeout,
        ack_timeout=ack_timeout,
        dead_after=dead_after or None,
        session_poll=session_poll or None,
        default_capacity=default_capacity,
        affinity_slack=affinity_slack,
        rebalance_moves=rebalance_moves,
        **overrides,  # type: ignore[arg-type]
    )
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    console = Console(stderr=True)
    topics = names.Topics(settings.topic_prefix)
    with (
        notifications(settings, f"scheduler {config.scheduler_id}") as notices,
        serving_metrics(metrics_host, metrics_port, console) as registry,
        open_backends(settings) as (bus, coord, store),
        stop_on_signals() as stop,
    ):
        ensure_topics(bus, topics)
        producer = bus.producer()
        channel = CommandChannel(producer, coord, CommandSigner(settings.secret), topics)
        service = Scheduler(config, coord, store, channel, notices=notices)
        export_scheduler(service, registry)
        timer = threading.Timer(duration, stop.set) if duration > 0 else None
        try:
            console.print(
                f"scheduler {config.scheduler_id}: tick {tick:g}s, lease TTL {lease_ttl:g}s, "
                f"coordination {coord.url} (Ctrl-C to stop)",
                highlight=False,
            )
            if timer is not None:
                timer.start()
            service.run(stop)
            console.print(f"scheduler {config.scheduler_id} stopped", highlight=False)
        finally:
            if timer is not None:
                timer.cancel()
            producer.close()
