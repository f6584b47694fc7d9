"""A service's counters and histograms as Prometheus families, read at scrape time."""

from __future__ import annotations

import gc
import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from livecore.telemetry import Counter, Gauge, Histogram, HistogramOf, MetricSet, export
from livecore.testing.scrape import parse


class Service:
    """A stand-in service: plain counters and a histogram."""

    def __init__(self) -> None:
        self.handled = 0
        self.queued: int | None = 3
        self.latency = Histogram((0.1, 1.0))
        self.broken = False


def _queued(s: Service) -> float | None:
    if s.broken:
        raise RuntimeError("cannot read")
    return s.queued


SERVICE_METRICS: MetricSet[Service] = MetricSet(
    "service",
    (
        Counter("test_service_handled_total", "Handled.", lambda s: s.handled),
        Gauge("test_service_queued", "Queued.", _queued),
        HistogramOf("test_service_latency_seconds", "Latency.", lambda s: s.latency.snapshot()),
    ),
)


def text(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_each_service_is_one_series_of_every_family_read_at_scrape_time() -> None:
    registry = CollectorRegistry()
    a, b = Service(), Service()
    export(registry, SERVICE_METRICS, "a", a)
    export(registry, SERVICE_METRICS, "b", b)
    a.handled = 5
    a.latency.observe(0.05)
    a.latency.observe(0.5)
    a.latency.observe(7.0)
    scraped = parse(text(registry))
    assert scraped.types == {
        "test_service_handled": "counter",
        "test_service_queued": "gauge",
        "test_service_latency_seconds": "histogram",
    }
    assert scraped.value("test_service_handled_total", service="a") == 5
    assert scraped.value("test_service_handled_total", service="b") == 0
    assert scraped.value("test_service_latency_seconds_bucket", service="a", le="0.1") == 1
    assert scraped.value("test_service_latency_seconds_bucket", service="a", le="1.0") == 2
    assert scraped.value("test_service_latency_seconds_bucket", service="a", le="+Inf") == 3
    assert scraped.value("test_service_latency_seconds_count", service="a") == 3
    assert scraped.value("test_service_latency_seconds_sum", service="a") == pytest.approx(7.55)
    a.handled = 6
    assert parse(text(registry)).value("test_service_handled_total", service="a") == 6


def test_a_value_that_is_none_or_raises_is_left_out_never_failing_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    a, b = Service(), Service()
    a.queued, b.broken = None, True
    export(registry, SERVICE_METRICS, "a", a)
    export(registry, SERVICE_METRICS, "b", b)
    with caplog.at_level(logging.WARNING, logger="livecore.telemetry.export"):
        scraped = parse(text(registry))
    assert scraped.value("test_service_queued", service="a") is None
    assert scraped.value("test_service_queued", service="b") is None
    assert scraped.value("test_service_handled_total", service="b") == 0
    assert "reading test_service_queued of service=b failed" in caplog.text


def test_the_same_key_again_replaces_the_service_and_a_gone_service_drops_out() -> None:
    registry = CollectorRegistry()
    old, new = Service(), Service()
    old.handled, new.handled = 1, 2
    export(registry, SERVICE_METRICS, "a", old)
    export(registry, SERVICE_METRICS, "a", new)
    assert parse(text(registry)).value("test_service_handled_total", service="a") == 2
    del old, new
    gc.collect()
    assert parse(text(registry)).value("test_service_handled_total", service="a") is None


def test_names_are_checked_by_the_registry_at_the_first_export() -> None:
    registry = CollectorRegistry()
    export(registry, SERVICE_METRICS, "a", Service())
    clash: MetricSet[Service] = MetricSet("other", (Gauge("test_service_queued", "Again.", lambda s: 1),))
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        export(registry, clash, "a", Service())
