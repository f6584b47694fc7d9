"""`livecore feed`: publish market data (file replay, synthetic prices, or a venue's
live public streams: ``livecore feed ccxt:binance --symbols BTC/USDT``)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from livecore.adapters.factory import open_bus, open_coordination
from livecore.cli.context import serving_metrics, settings_of, stop_on_signals
from livecore.cli.options import metrics_host_option, metrics_port_option
from livecore.config import DeploymentSettings
from livecore.errors import ConfigError, LivecoreError
from livecore.feed.bundled import bundled_data_dir
from livecore.feed.config import FeedConfig
from livecore.feed.readers import load_replay
from livecore.feed.runner import FeedRunner, replay_schedule
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings
from livecore.feed.telemetry import export_feed
from livecore.health import BusHealthReporter
from livecore.ports.bus import Bus
from livecore.venues.ccxt.feed import FeedKind, LiveFeed, LiveFeedSettings
from livecore.venues.ccxt.profiles import PREFIX, build_client, parse_venue
from livecore.wire import names

LIVE_COMMAND = "live"


class _FeedCommands(typer.core.TyperGroup):
    """``livecore feed ccxt:NAME ...`` is ``livecore feed live ccxt:NAME ...``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0].startswith(PREFIX):
            return LIVE_COMMAND, self.commands[LIVE_COMMAND], args
        return super().resolve_command(ctx, args)


app = typer.Typer(
    help="Publish market data on `market.data`: replay files, synthetic prices, or a venue's live streams "
    "(`livecore feed ccxt:binance --symbols BTC/USDT`).",
    no_args_is_help=True,
    cls=_FeedCommands,
)

REPLAY, SYNTHETIC, LIVE = "feed-replay", "feed-synthetic", "feed-live"  # thread names and /metrics labels


class _RateColumn(ProgressColumn):
    """Events per second since the start."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        speed = task.completed / elapsed if elapsed else None
        return Text(f"{speed:,.0f} ev/s" if speed else "- ev/s")


@contextlib.contextmanager
def _bus_health(bus: Bus, settings: DeploymentSettings, name: str, console: Console) -> Iterator[None]:
    """Report this feed's bus health under ``bus:health:feed:{name}-{pid}`` while it runs
    (skipped, with a warning, when the coordination store cannot be opened)."""
    try:
        coord = open_coordination(settings.coord_url)
    except LivecoreError as exc:
        console.print(f"[yellow]bus health not reported: {exc}[/]", highlight=False)
        yield
        return
    try:
        with BusHealthReporter(bus=bus, coord=coord, process=names.feed_process(f"{name}-{os.getpid()}")):
            yield
    finally:
        coord.close()


def _drive(runner: FeedRunner, label: str, console: Console, on_stop: Callable[[], None] | None = None) -> None:
    """Run ``runner`` in its thread with a progress bar; SIGTERM/Ctrl-C stop it cleanly
    (``on_stop`` first: a live source ends its schedule)."""
    started = time.monotonic()
    with stop_on_signals() as stop_requested, contextlib.ExitStack() as cleanup:
        cleanup.callback(runner.stop)
        if on_stop is not None:
            cleanup.callback(on_stop)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(label, total=runner.total)
            runner.start()
            while not runner.join(0.1):
                progress.update(task, completed=runner.published)
                if stop_requested.is_set():
                    if on_stop is not None:
                        on_stop()
                    runner.stop()
            progress.update(task, completed=runner.published)
    elapsed = max(time.monotonic() - started, 1e-9)
    if runner.error is not None:
        raise LivecoreError(f"feed stopped after {runner.published} events: {runner.error}")
    console.print(
        f"published {runner.published} events on {runner.topic} in {elapsed:.1f}s "
        f"({runner.published / elapsed:,.0f}/s; delivered {runner.delivered}, failed {runner.failed})",
        highlight=False,
    )


@app.command("replay")
def replay(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="CSV/Parquet file or directory (default: the bundled daily data)", show_default=False
    ),
    speed: float = typer.Option(
        0.0, "--speed", help="times real time between timestamps; 0 = as fast as possible; 86400 = a day per second"
    ),
    loop: bool = typer.Option(False, "--loop", help="start again at the end"),
    symbols: str | None = typer.Option(None, "--symbols", help="only these symbols, comma-separated"),
    event_time: bool = typer.Option(
        False, "--event-time", help="keep the data's timestamps (default: stamp each event with the current time)"
    ),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """Replay bars or ticks in timestamp order, stamped with the current time
    (or, with --event-time, with their own)."""
    if speed < 0:
        raise ConfigError(f"--speed must be >= 0, got {speed}")
    settings = settings_of(ctx)
    source = path if path is not None else bundled_data_dir()
    data = load_replay(source, symbols.split(",") if symbols else None)
    console = Console(stderr=True)
    console.print(
        f"replaying {len(data.events)} {'/'.join(sorted(data.kinds))}s of {len(data.symbols)} symbol(s) "
        f"from {len(data.files)} file(s) under {source}",
        highlight=False,
    )
    bus = open_bus(settings.bus_url)
    try:
        runner = FeedRunner(
            bus,
            replay_schedule(data, speed, loop, shift_passes=event_time),
            FeedConfig(topic_prefix=settings.topic_prefix, event_time=event_time),
            total=None if loop else len(data.events),
            name=REPLAY,
        )
        with (
            serving_metrics(metrics_host, metrics_port, console) as registry,
            _bus_health(bus, settings, "replay", console),
        ):
            export_feed(runner, REPLAY, registry)
            _drive(runner, "replay", console)
    finally:
        bus.close()


_SYNTHETIC = SyntheticSettings()


@app.command("synthetic")
def synthetic(
    ctx: typer.Context,
    symbols: int = typer.Option(_SYNTHETIC.symbols, "--symbols", help="number of symbols (SYM0001, ...)"),
    rate: float = typer.Option(_SYNTHETIC.rate, "--rate", help="events per second, all symbols together"),
    duration: float | None = typer.Option(
        _SYNTHETIC.duration_s, "--duration", help="seconds to run (default: until stopped)"
    ),
    seed: int = typer.Option(_SYNTHETIC.seed, "--seed", help="same seed, same symbols and prices"),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """Geometric-Brownian-motion ticks, paced on an absolute schedule."""
    feed_settings = SyntheticSettings(symbols=symbols, rate=rate, duration_s=duration, seed=seed)
    settings = settings_of(ctx)
    feed = SyntheticFeed(feed_settings)
    bus = open_bus(settings.bus_url)
    try:
        runner = FeedRunner(
            bus,
            feed.events(),
            FeedConfig(topic_prefix=settings.topic_prefix),
            total=feed_settings.total_events,
            name=SYNTHETIC,
        )
        console = Console(stderr=True)
        with (
            serving_metrics(metrics_host, metrics_port, console) as registry,
            _bus_health(bus, settings, "synthetic", console),
        ):
            export_feed(runner, SYNTHETIC, registry)
            _drive(runner, f"synthetic {symbols} symbols @ {rate:g}/s", console)
    finally:
        bus.close()


@app.command(LIVE_COMMAND)
def live(
    ctx: typer.Context,
    venue: str = typer.Argument(..., metavar="VENUE", help="ccxt:binance, ccxt:okx"),
    symbols: str = typer.Option(..., "--symbols", help="comma-separated, as the venue's markets: BTC/USDT,ETH/USDT"),
    trades: bool = typer.Option(False, "--trades", help="every trade as a tick with its size (the default)"),
    ticker: bool = typer.Option(False, "--ticker", help="the ticker: last price with bid and ask"),
    bars: str | None = typer.Option(None, "--bars", metavar="TIMEFRAME", help="closed bars of 1m, 5m, 1h, ..."),
    sandbox: bool = typer.Option(False, "--sandbox", help="the testnet's streams"),
    venue_url: str | None = typer.Option(
        None, "--venue-url", metavar="URL", help="the venue's host replaced (livecore venue-sim)"
    ),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """A venue's public websockets: reconnects with backoff, counts and logs gaps."""
    profile = parse_venue(venue)
    if sum((trades, ticker, bars is not None)) > 1:
        raise ConfigError("--trades, --ticker and --bars are alternatives: give one")
    kind = FeedKind.BARS if bars is not None else FeedKind.TICKER if ticker else FeedKind.TRADES
    try:
        feed_settings = LiveFeedSettings(
            symbols=tuple(s.strip() for s in symbols.split(",") if s.strip()), kind=kind, timeframe=bars or "1m"
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    settings = settings_of(ctx)
    feed = LiveFeed(feed_settings, lambda: build_client(profile, None, sandbox=sandbox, venue_url=venue_url))
    console = Console(stderr=True)
    try:
        feed.start()
    except Exception as exc:
        feed.stop()
        raise LivecoreError(f"{venue}: cannot open its streams: {exc}") from None
    bus = open_bus(settings.bus_url)
    try:
        runner = FeedRunner(bus, feed.schedule(), FeedConfig(topic_prefix=settings.topic_prefix), name=LIVE)
        with (
            serving_metrics(metrics_host, metrics_port, console) as registry,
            _bus_health(bus, settings, "live", console),
        ):
            export_feed(runner, LIVE, registry)
            what = kind.value if kind is not FeedKind.BARS else f"{bars} bars"
            _drive(runner, f"{venue} {what} of {len(feed_settings.symbols)} symbol(s)", console, on_stop=feed.stop)
    finally:
        feed.stop()
        bus.close()
    c = feed.counters
    console.print(
        f"{venue}: {c.events} events, {c.reconnects} reconnects, {c.gaps} gaps "
        f"({c.missed_trades} trades and {c.missed_bars} bars missed), {c.dropped} dropped",
        highlight=False,
    )
