"""What every subcommand gets from the global options."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.config import DeploymentSettings
from livecore.notify import NO_NOTICES, NoticeSink, Notifier, notify_settings
from livecore.ports.bus import Bus
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.telemetry.config import MetricsConfig
from livecore.telemetry.server import PROCESS_REGISTRY, MetricsServer


def settings_of(ctx: typer.Context) -> DeploymentSettings:
    """The ``DeploymentSettings`` built from ``--bus/--coord/--db/--secret`` by the root callback."""
    root = ctx.find_root()
    settings = root.obj
    if not isinstance(settings, DeploymentSettings):  # a subcommand invoked without the root app
        raise RuntimeError("livecore CLI context has no settings")
    return settings


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGINT or SIGTERM sets while the block runs, so a foreground
    service stops gracefully; the previous handlers are restored afterwards."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def notifications(settings: DeploymentSettings, origin: str) -> Iterator[NoticeSink]:
    """The process's notifier (``--notify``), started, and closed (held notices
    sent) when the block ends; a sink that wants nothing without URLs."""
    notify = notify_settings(settings)
    if not notify.urls:
        yield NO_NOTICES
        return
    with Notifier(notify, origin=origin) as notifier:
        yield notifier


@contextlib.contextmanager
def open_backends(settings: DeploymentSettings) -> Iterator[tuple[Bus, Coordination, Store]]:
    """Bus, coordination and store named by the settings, each checked, closed in reverse."""
    with contextlib.ExitStack() as stack:
        bus = open_bus(settings.bus_url)
        stack.callback(bus.close)
        coord = open_coordination(settings.coord_url)
        stack.callback(coord.close)
        store = open_store(settings.db_url)
        stack.callback(store.close)
        yield bus, coord, store


@contextlib.contextmanager
def serving_metrics(host: str, port: int, console: Console) -> Iterator[CollectorRegistry]:
    """This process's ``/metrics`` on ``--metrics-port`` while the block runs (nothing
    when it is 0). Yields the registry the command exports its services into; a
    port in use is a ``ConfigError`` before anything else starts."""
    config = MetricsConfig(host=host, port=port)
    if not config.enabled:
        yield PROCESS_REGISTRY
        return
    with MetricsServer(config.host, config.port, PROCESS_REGISTRY) as server:
        console.print(f"metrics: {server.url}", highlight=False)
        yield PROCESS_REGISTRY
