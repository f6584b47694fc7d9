"""A service's metrics as Prometheus families, read at scrape time.

A service keeps plain counters and ``Histogram``s; its package declares once,
in a ``MetricSet``, what each becomes (name, type, help, how to read it from
the service). ``export(registry, metric_set, key, service)`` makes the service
one series of every family of the set, labelled ``{metric_set.label}=key``.
Nothing is pushed or copied on the hot path: each scrape reads the counters.

One collector per (registry, metric set) holds every exported service of that
kind, so the nodes of ``livecore run`` are series of the same families rather
than duplicate registrations. Services are held weakly: one that is gone drops
out of the scrape, and exporting a new one under the same key replaces it.
A reading that raises is logged and left out; it never fails the scrape.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from livecore.telemetry.histogram import HistogramSnapshot

log = logging.getLogger(__name__)

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Counter(Generic[S]):
    """Monotonic since the service started; ``name`` ends in ``_total``."""

    name: str
    help: str
    read: Callable[[S], float | None]


@dataclass(frozen=True, slots=True)
class Gauge(Generic[S]):
    name: str
    help: str
    read: Callable[[S], float | None]


@dataclass(frozen=True, slots=True)
class HistogramOf(Generic[S]):
    """A ``Histogram`` of the service; ``name`` ends in its base unit (``_seconds``)."""

    name: str
    help: str
    read: Callable[[S], HistogramSnapshot | None]


MetricDef = Counter[S] | Gauge[S] | HistogramOf[S]


@dataclass(frozen=True, eq=False)
class MetricSet(Generic[S]):
    """Every metric of one kind of service, labelled by ``label`` (``node``, ...).
    Compared by identity: each set is one module-level constant."""

    label: str
    metrics: tuple[MetricDef[S], ...]


def _family(metric: MetricDef[S], label: str) -> Metric:
    if isinstance(metric, Counter):
        return CounterMetricFamily(metric.name, metric.help, labels=[label])
    if isinstance(metric, Gauge):
        return GaugeMetricFamily(metric.name, metric.help, labels=[label])
    return HistogramMetricFamily(metric.name, metric.help, labels=[label])


def _add(family: Metric, metric: MetricDef[S], key: str, source: S) -> None:
    value = metric.read(source)
    if value is None:
        return
    if isinstance(value, HistogramSnapshot):
        assert isinstance(family, HistogramMetricFamily)
        buckets = [(floatToGoString(bound), count) for bound, count in value.buckets()]  # type: ignore[no-untyped-call]
        family.add_metric([key], buckets, value.sum)
    else:
        assert isinstance(family, CounterMetricFamily | GaugeMetricFamily)
        family.add_metric([key], float(value))


class SourceCollector(Generic[S]):
    """The services of one ``MetricSet`` in one registry, by key."""

    def __init__(self, metric_set: MetricSet[S]) -> None:
        self._set = metric_set
        self._sources: weakref.WeakValueDictionary[str, S] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def add(self, key: str, source: S) -> None:
        with self._lock:
            self._sources[key] = source

    def describe(self) -> Iterator[Metric]:
        """The families without samples: the registry checks names against these."""
        for metric in self._set.metrics:
            yield _family(metric, self._set.label)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources = sorted(self._sources.items())
        for metric in self._set.metrics:
            family = _family(metric, self._set.label)
            for key, source in sources:
                try:
                    _add(family, metric, key, source)
                except Exception:
                    log.warning("metrics: reading %s of %s=%s failed", metric.name, self._set.label, key, exc_info=True)
            yield family


_collectors: weakref.WeakKeyDictionary[CollectorRegistry, dict[object, SourceCollector[Any]]]
_collectors = weakref.WeakKeyDictionary()
_collectors_lock = threading.Lock()


def export(registry: CollectorRegistry, metric_set: MetricSet[S], key: str, source: S) -> None:
    """Make ``source`` the series ``{label}=key`` of every family of ``metric_set`` in
    ``registry`` (registering the set's collector the first time)."""
    with _collectors_lock:
        by_set = _collectors.setdefault(registry, {})
        collector = by_set.get(metric_set)
        if collector is None:
            collector = SourceCollector(metric_set)
            registry.register(collector)
            by_set[metric_set] = collector
    collector.add(key, source)
