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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console, Group, RenderableType
from rich.live import Live

from livecore.api.config import DEFAULT_PORT, TOKEN_ENV
from livecore.cli.context import serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import metrics_host_option, metrics_port_option
from livecore.cli.run_report import EquitySampler, earlier_state, final_report, has_mismatch, headline, show
from livecore.cli.status import renderables
from livecore.config import DEFAULT_DB_PATH, DeploymentSettings
from livecore.errors import ConfigError
from livecore.livecore import LiveCore, LiveCoreConfig, ReplayPlan, SyntheticPlan
from livecore.ops.status import StatusReport

if TYPE_CHECKING:
    from livecore.api.server import ApiServer

REFRESH_S = 1.0
FRESH_HINT = "`livecore run --fresh` starts from scratch"
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


def _summary(core: LiveCore, width: int, samples: EquitySampler) -> RenderableType:
    report = core.status()
    samples.add(report)
    return Group(headline(core), *renderables(report, width))


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
    api_token: str = typer.Option(
        "",
        "--api-token",
        envvar=TOKEN_ENV,
        help="bearer token of the API's actions and the dashboard's controls (without one: read-only)",
        show_default=False,
    ),
    fresh: bool = typer.Option(False, "--fresh", help="wipe the SQLite state of earlier runs first"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no live view; print the final report only"),
    as_json: bool = typer.Option(False, "--json", help="no live view; the final report as one JSON document"),
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
    console = Console(stderr=as_json)  # with --json, stdout carries the document alone
    if not fresh:
        note = earlier_state(settings, FRESH_HINT if settings.db_url.startswith("sqlite:") else "drop the database")
        if note is not None:
            console.print(f"[yellow]{note}[/]", highlight=False)
    core = LiveCore(settings, config)
    samples = EquitySampler()
    with serving_metrics(metrics_host, metrics_port, console) as registry, stop_on_signals() as stop:
        view = LiveView(
            duration=duration, api_port=api_port, api_token=api_token, quiet=quiet or as_json, samples=samples
        )
        status = _run_live(core, stop, registry, view, console)
    report = final_report(core, status, settings, samples)
    show(report, core, Console(), as_json)
    if has_mismatch(report):
        raise typer.Exit(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveView:
    """How the run is watched: how long, the dashboard's port, whether the live
    view is shown, and where the equity samples go."""

    duration: float
    api_port: int
    quiet: bool
    samples: EquitySampler
    api_token: str = ""  # the dashboard's controls (empty: read-only)


def _run_live(
    core: LiveCore, stop: threading.Event, registry: CollectorRegistry, view: LiveView, console: Console
) -> StatusReport:
    """Start, show the live view until ``stop``, the duration or the end of a finite
    replay, stop; the last status."""
    api = None
    try:
        with console.status("starting scheduler, nodes, gateway and feed..."):
            core.start()
        core.export_metrics(registry)
        if view.api_port:
            api = _start_api(core, view.api_port, view.api_token, console)
        deadline = None if view.duration <= 0 else time.monotonic() + view.duration
        finished = core.replay_finished
        if view.quiet:
            while not _wait(stop, deadline, finished, REFRESH_S):
                view.samples.add(core.status())
        else:
            with Live(_summary(core, console.width, view.samples), console=console, refresh_per_second=2) as live:
                while not _wait(stop, deadline, finished, REFRESH_S):
                    live.update(_summary(core, console.width, view.samples))
        if finished.is_set():
            console.print("\nthe replay has ended and every order has settled", highlight=False)
        console.print("\nstopping...")
        last = core.status()
        view.samples.add(last)
        return last
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


def _start_api(core: LiveCore, port: int, token: str, console: Console) -> ApiServer | None:
    """Serve the dashboard and REST API; a busy port only costs the dashboard.
    (FastAPI is imported here, not at module level: other commands start faster.)"""
    from livecore.api.app import create_app
    from livecore.api.config import ApiConfig
    from livecore.api.server import ApiServer

    config = ApiConfig(port=port, token=token)
    server = ApiServer(create_app(core.ops, config, core.notices), config.host, config.port)
    try:
        server.start()
    except ConfigError as exc:
        console.print(f"[yellow]dashboard not started: {exc}[/]")
        return None
    console.print(f"dashboard: {server.url}/", highlight=False)
    return server
