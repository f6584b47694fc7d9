"""The node metrics hash (``node:metrics:{node_id}``), field for field.

The seed's fields (``portfolio_count``, ``queue_size`` = average mailbox size,
``cpu_usage``, ``memory_usage``, ``total_events``, ``backpressure_count``,
``dropped_events``) plus this project's (``portfolios``, ``state``,
``started_at``, ``capacity``, ``updated_at`` and a few counters). The seed left
CPU and memory at 0; here they are the process's real CPU percent (since the
previous reading) and resident set size in bytes. The heartbeat adds the bus's
health (``bus_ok``, ``bus_reason``, ``bus_since_ns`` and, when the bus counts
them, ``bus_lost_records``: ``livecore.health``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import psutil

from livecore.wire import names


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class ProcessGauge:
    """CPU and memory of this process. ``cpu_percent`` measures since the previous call."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # prime: the first reading is otherwise 0.0

    def cpu_percent(self) -> float:
        return float(self._process.cpu_percent(None))

    def rss_bytes(self) -> int:
        return int(self._process.memory_info().rss)


@dataclass(frozen=True, slots=True)
class NodeStats:
    """A consistent-enough reading of the node's counters for one heartbeat."""

    portfolio_epochs: Mapping[str, int]
    queue_sizes: list[int]
    total_events: int
    backpressure_count: int
    dropped_events: int
    paused: bool
    started_at: str
    capacity: int
    extra: Mapping[str, int | float | str] = field(default_factory=dict)


def metrics_fields(stats: NodeStats, gauge: ProcessGauge) -> dict[str, str]:
    """Every field as a string (hash values are strings on both backends)."""
    sizes = stats.queue_sizes
    fields = {
        "portfolio_count": str(len(stats.portfolio_epochs)),
        "queue_size": f"{(sum(sizes) / len(sizes)) if sizes else 0.0:.2f}",
        "cpu_usage": f"{gauge.cpu_percent():.1f}",
        "memory_usage": str(gauge.rss_bytes()),
        "total_events": str(stats.total_events),
        "backpressure_count": str(stats.backpressure_count),
        "dropped_events": str(stats.dropped_events),
        "portfolios": json.dumps(dict(stats.portfolio_epochs), sort_keys=True),
        "state": "paused" if stats.paused else "running",
        "started_at": stats.started_at,
        "capacity": str(stats.capacity),
        names.UPDATED_AT_FIELD: iso_now(),
    }
    for name, value in stats.extra.items():
        fields[name] = str(value)
    return fields
