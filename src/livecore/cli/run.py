"""`livecore run`: the whole system in one process, with a live summary.

On the embedded default nothing else is needed (in-process bus and
coordination, a SQLite file under ``./.livecore/``); with ``--bus kafka://...
--coord redis://... --db postgresql://...`` the same command runs on real
infrastructure. Ctrl-C or ``--duration`` ends it with a final report that
checks every portfolio's books against the gateway's journal.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console, Group, RenderableType
from rich.live import Live

from livecore.adapters.factory import open_store
from livecore.api.config import DEFAULT_PORT
from livecore.cli.books import detail_lines
from livecore.cli.context import serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import metrics_host_option, metrics_port_option
from livecore.cli.status import renderables
from livecore.config import DEFAULT_DB_PATH, DeploymentSettings
from livecore.errors import ConfigError
from livecore.livecore import LiveCore, LiveCoreConfig, ReplayPlan, SyntheticPlan
from livecore.ops.books import MISMATCH, BooksCheck, check_snapshots
from livecore.ops.status import StatusReport

if TYPE_CHECKING:
    from livecore.api.server import ApiServer

REFRESH_S = 1.0
_FINISHED_POLL_S = 0.2  # how often a run looks whether its finite replay is over
_DEFAULTS = LiveCoreConfig()
_REPLAY = ReplayPlan()
_SYNTHETIC = SyntheticPlan()


def _feed_plan(
    data: Path | None, speed: float, loop: bool, event_time: bool, synthetic: int, rate: float
) -> ReplayPlan | SyntheticPlan:
    if synthetic > 0:
        if event_time:
            raise ConfigError("--event-time keeps a replay's timestamps; synthetic prices have none")
        return SyntheticPlan(symbols=synthetic, rate=rate)
    if data is not None and not data.exists():
        raise ConfigError(f"replay data {data} does not exist")
    return ReplayPlan(path=data, speed=speed, loop=loop, event_time=event_time)


def _wipe_sqlite(settings: DeploymentSettings) -> None:
    prefix = "sqlite:///"
    if not settings.db_url.startswith(prefix):
        raise ConfigError("--fresh only wipes a SQLite database; drop a PostgreSQL database yourself")
    path = Path(settings.db_url[len(prefix) :])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _headline(core: LiveCore) -> str:
    uptime = 0.0 if core.started_at is None else time.monotonic() - core.started_at
    feed = core.feed
    published = 0 if feed is None else feed.published
    stats = core.gateway.stats if core.gateway is not None else None
    orders = 0 if stats is None else stats.orders
    events = sum(node.total_event_count for node in core.nodes)
    return (
        f"[bold]livecore[/] up {uptime:.0f}s | feed {published} events | "
        f"nodes saw {events} events | gateway {orders} orders"
    )


def _summary(core: LiveCore) -> RenderableType:
    return Group(_headline(core), *renderables(core.status()))


def _books_lines(checks: list[BooksCheck]) -> list[str]:
    good = sum(1 for c in checks if c.matches)
    lines = [f"books vs gateway journal: {good}/{len(checks)} portfolios equal (cash and positions, exact)"]
    in_flight = sum(c.in_flight_fills for c in checks)
    if in_flight:
        lines.append(f"  {in_flight} fill(s) were in flight at stop: applied from the journal, as the next load does")
    return lines + [f"  {line}" for line in detail_lines([c for c in checks if c.status == MISMATCH])]


def run(
    ctx: typer.Context,
    duration: float = typer.Option(0.0, "--duration", help="seconds to run (0: until Ctrl-C)"),
    nodes: int = typer.Option(_DEFAULTS.nodes, "--nodes", help="execution nodes to start"),
    portfolios: list[Path] = typer.Option(
        [], "--portfolios", help="spec files or directories (default: examples/portfolios)"
    ),
    data: Path | None = typer.Option(None, "--data", help="CSV/Parquet file or directory to replay (default: bundled)"),
    speed: float = typer.Option(_REPLAY.speed, "--speed", help="replay speed, x real time (0: max)"),
    loop: bool = typer.Option(
        _REPLAY.loop,
        "--loop/--no-loop",
        help="replay the data again when it ends (--no-loop: stop once it has settled)",
    ),
    event_time: bool = typer.Option(
        _REPLAY.event_time,
        "--event-time",
        help="keep the data's timestamps; with --speed 0 --no-loop: lockstep, the same orders and fills as a backtest",
    ),
    synthetic: int = typer.Option(0, "--synthetic", help="instead of replay: N synthetic symbols"),
    rate: float = typer.Option(_SYNTHETIC.rate, "--rate", help="synthetic events per second"),
    api_port: int = typer.Option(DEFAULT_PORT, "--api-port", help="dashboard + REST API port (0: off)"),
    fresh: bool = typer.Option(False, "--fresh", help="wipe the SQLite state of earlier runs first"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no live view; print the final report only"),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """Start scheduler, nodes, paper gateway, feed and example portfolios in one process."""
    settings = settings_of(ctx)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if fresh:
        _wipe_sqlite(settings)
    elif settings.db_url.endswith(DEFAULT_DB_PATH.as_posix()):
        DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    config = LiveCoreConfig(
        nodes=nodes,
        portfolio_files=tuple(portfolios),
        feed=_feed_plan(data, speed, loop, event_time, synthetic, rate),
    )
    console = Console()
    core = LiveCore(settings, config)
    with serving_metrics(metrics_host, metrics_port, console) as registry, stop_on_signals() as stop:
        report = _run_live(core, stop, registry, duration, api_port, quiet, console)
    for part in (_headline(core), *renderables(report)):
        console.print(part, highlight=False)
    store = open_store(settings.db_url)
    try:
        checks = check_snapshots(store)
    finally:
        store.close()
    for line in _books_lines(checks):
        console.print(line, highlight=False)
    if any(c.status == MISMATCH for c in checks):
        raise typer.Exit(1)


def _run_live(
    core: LiveCore,
    stop: threading.Event,
    registry: CollectorRegistry,
    duration: float,
    api_port: int,
    quiet: bool,
    console: Console,
) -> StatusReport:
    """Start, show the live view until ``stop`` or the duration, stop; the last status."""
    api = None
    try:
        with console.status("starting scheduler, nodes, gateway and feed..."):
            core.start()
        core.export_metrics(registry)
        if api_port:
            api = _start_api(core, api_port, console)
        deadline = None if duration <= 0 else time.monotonic() + duration
        finished = core.replay_finished
        if quiet:
            _wait(stop, deadline, finished)
        else:
            with Live(_summary(core), console=console, refresh_per_second=2, transient=False) as live:
                while not _wait(stop, deadline, finished, REFRESH_S):
                    live.update(_summary(core))
        if finished.is_set():
            console.print("\nthe replay has ended and every order has settled", highlight=False)
        console.print("\nstopping...")
        return core.status()
    finally:
        if api is not None:
            api.stop()
        core.stop()


def _wait(stop: threading.Event, deadline: float | None, finished: threading.Event, step: float | None = None) -> bool:
    """Wait up to ``step`` (None: until the end); True once it is time to stop:
    a stop asked for, the duration over, or a finite replay finished."""
    until = None if step is None else time.monotonic() + step
    while not finished.is_set():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return True
        if until is not None and now >= until:
            return False
        waits = [_FINISHED_POLL_S] + [t - now for t in (deadline, until) if t is not None]
        if stop.wait(min(waits)):
            return True
    return True


def _start_api(core: LiveCore, port: int, console: Console) -> ApiServer | None:
    """Serve the dashboard and REST API; a busy port only costs the dashboard.
    (FastAPI is imported here, not at module level: other commands start faster.)"""
    from livecore.api.app import create_app
    from livecore.api.config import ApiConfig
    from livecore.api.server import ApiServer

    config = ApiConfig(port=port)
    server = ApiServer(create_app(core.ops, config, core.notices), config.host, config.port)
    try:
        server.start()
    except ConfigError as exc:
        console.print(f"[yellow]dashboard not started: {exc}[/]")
        return None
    console.print(f"dashboard: {server.url}/", highlight=False)
    return server
