"""Every metric family livecore exports (no tests here): the services' own
(node, gateway, scheduler, feed, venue), the API's cluster view, and the client's
process collectors that every ``--metrics-port`` serves with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry
from prometheus_client.core import Metric

from livecore.api.metrics import LivecoreCollector
from livecore.feed.telemetry import FEED_METRICS
from livecore.gateway.telemetry import GATEWAY_METRICS
from livecore.node.telemetry import NODE_METRICS
from livecore.scheduler.telemetry import SCHEDULER_METRICS
from livecore.telemetry.export import MetricSet, SourceCollector
from livecore.venues.ccxt.telemetry import VENUE_METRICS
from tests.unit.api.helpers import simulate
from tests.unit.ops.helpers import world

SERVICE_SETS: tuple[MetricSet[object], ...] = (  # type: ignore[assignment]
    NODE_METRICS,
    GATEWAY_METRICS,
    SCHEDULER_METRICS,
    FEED_METRICS,
    VENUE_METRICS,
)


def service_families() -> list[Metric]:
    """The families of every service, as a registry holding all four collects them."""
    registry = CollectorRegistry()
    for metric_set in SERVICE_SETS:
        registry.register(SourceCollector(metric_set))
    return list(registry.collect())


def api_families(tmp_path: Path) -> list[Metric]:
    """The API's ``/metrics`` families over the simulated cluster (every kind of series present)."""
    with world(tmp_path) as w:
        simulate(w.ops)
        return list(LivecoreCollector(w.ops.coord, w.ops.store).collect())


def process_families() -> list[Metric]:
    return [
        family for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR) for family in collector.collect()
    ]


def all_families(tmp_path: Path) -> Iterator[tuple[str, Metric]]:
    """(source, family) for every family: ``service``, ``api`` or ``process``."""
    for source, families in (
        ("service", service_families()),
        ("api", api_families(tmp_path)),
        ("process", process_families()),
    ):
        for family in families:
            yield source, family


def sample_names(family: Metric) -> set[str]:
    """The names a PromQL expression can use for ``family``."""
    if family.type == "counter":
        return {f"{family.name}_total"}
    if family.type == "histogram":
        return {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
    return {family.name}
