"""Options that several commands share; their defaults come from the config objects."""

from __future__ import annotations

import logging
from typing import Any

import typer

from livecore.config import ACK_TIMEOUT_S
from livecore.errors import ConfigError
from livecore.telemetry.config import MetricsConfig

ACK_TIMEOUT_HELP = "seconds to wait for the node's acknowledgement"
_METRICS = MetricsConfig()


def ack_timeout_option() -> Any:
    """``--timeout`` of an operator command that waits for a node's ack (``OpsConfig.ack_timeout``)."""
    return typer.Option(ACK_TIMEOUT_S, "--timeout", help=ACK_TIMEOUT_HELP)


def event_time_option() -> Any:
    """``--event-time`` of a process that takes part in an event-time replay
    (``livecore feed replay --event-time``): "now" is the latest event's time."""
    return typer.Option(
        False, "--event-time", help="event time: 'now' is the latest market event's timestamp, not the wall clock"
    )


def metrics_port_option() -> Any:
    """``--metrics-port`` of every long-running command (``MetricsConfig.port``)."""
    return typer.Option(
        _METRICS.port, "--metrics-port", help="serve this process's Prometheus metrics on PORT, path /metrics (0: off)"
    )


def metrics_host_option() -> Any:
    """``--metrics-host`` (``MetricsConfig.host``)."""
    return typer.Option(_METRICS.host, "--metrics-host", help="address --metrics-port listens on (0.0.0.0 exposes it)")


def log_level_option() -> Any:
    return typer.Option("info", "--log-level", help="debug, info, warning or error")


def configure_logging(level: str) -> None:
    """The process's log level and format (``--log-level``)."""
    chosen = getattr(logging, level.upper(), None)
    if not isinstance(chosen, int):
        raise ConfigError(f"--log-level: unknown level {level!r}")
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=chosen, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    root.setLevel(chosen)
    logging.getLogger("livecore.kafka").setLevel(max(chosen, logging.INFO))
