"""What the node reports in its metrics hash (``control.metrics.NodeMetrics``).

The seed's fields (``portfolio_count``, ``queue_size`` = average mailbox size,
``cpu_usage``, ``memory_usage``, ``total_events``, ``backpressure_count``,
``dropped_events``) plus this project's (``portfolios``, ``state``,
``started_at``, ``capacity``, ``updated_at`` and a few counters). The seed left
CPU and memory at 0; here they are the process's real CPU percent (since the
previous reading) and resident set size in bytes. The heartbeat adds the bus's
health (``bus_ok``, ``bus_reason``, ``bus_since_ns`` and, when the bus counts
them, ``bus_lost_records``: ``livecore.health``) and the token of its coordination session (``session``:
``node/session.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec
import psutil

from livecore.control.metrics import PAUSED, RUNNING, NodeMetrics
from livecore.ports.bus import BusHealth


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
    counters: NodeMetrics = field(default_factory=NodeMetrics)  # the node's own counters, by field


def node_metrics(stats: NodeStats, gauge: ProcessGauge, bus: BusHealth, session: str | None = None) -> NodeMetrics:
    """One heartbeat's report: the node's counters plus the seed's fields, bus health
    and the token of its coordination session."""
    sizes = stats.queue_sizes
    return msgspec.structs.replace(
        stats.counters,
        portfolio_count=len(stats.portfolio_epochs),
        queue_size=(sum(sizes) / len(sizes)) if sizes else 0.0,
        cpu_usage=gauge.cpu_percent(),
        memory_usage=gauge.rss_bytes(),
        total_events=stats.total_events,
        backpressure_count=stats.backpressure_count,
        dropped_events=stats.dropped_events,
        portfolios=dict(stats.portfolio_epochs),
        state=PAUSED if stats.paused else RUNNING,
        started_at=stats.started_at,
        capacity=stats.capacity,
        updated_at=iso_now(),
        bus_ok=bus.ok,
        bus_reason=bus.reason,
        bus_since_ns=bus.since_ns,
        bus_lost_records=bus.lost_records,
        session=session,
    )
