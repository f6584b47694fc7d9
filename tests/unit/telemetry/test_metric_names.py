"""Every metric family livecore exports follows Prometheus' naming conventions
(https://prometheus.io/docs/practices/naming/): snake case under one prefix, base
units spelled out as the last word (seconds, bytes), ratios and not percents,
``_total`` on counters only, no ``_count`` on a gauge; and no name is exported by
two sources (a process's own and the API's cluster view)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from livecore.telemetry import Counter as CounterDef
from tests.unit.telemetry.catalog import SERVICE_SETS, all_families

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PREFIXES = {"service": ("livecore_",), "api": ("livecore_",), "process": ("process_", "python_")}
RESERVED_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created")
NOT_BASE_UNITS = {
    "percent", "pct", "percentage",
    "ms", "millis", "milliseconds", "us", "micros", "microseconds", "ns", "nanoseconds",
    "minutes", "hours", "days",
    "kb", "mb", "gb", "kilobytes", "megabytes", "gigabytes", "kib", "mib", "gib", "bits",
}  # fmt: skip
UNITS = ("seconds", "bytes", "ratio")


def problems(source: str, family: Metric) -> list[str]:
    name, words = family.name, family.name.split("_")
    found = []
    if not SNAKE.match(name):
        found.append("not snake case")
    if not name.startswith(PREFIXES[source]):
        found.append(f"not under {PREFIXES[source]}")
    if name.endswith(RESERVED_SUFFIXES):
        found.append("ends in a suffix the exposition adds (_total, _count, _sum, _bucket)")
    if bad := NOT_BASE_UNITS.intersection(words):
        found.append(f"not a base unit: {sorted(bad)}")
    for unit in UNITS:
        if unit in words[:-1]:
            found.append(f"unit {unit!r} is not the last word")
    if family.type == "histogram" and words[-1] not in UNITS:
        found.append("a histogram's name ends in its unit")
    if family.type == "counter" and words[-1] == "count":
        found.append("a counter of things is x_total, not x_count_total")
    if not family.documentation.strip():
        found.append("no help text")
    return found


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Metric]]:
    return list(all_families(tmp_path_factory.mktemp("catalog")))


def test_every_family_follows_the_conventions(families: list[tuple[str, Metric]]) -> None:
    bad = {f"{source}: {family.name} ({family.type})": problems(source, family) for source, family in families}
    assert {k: v for k, v in bad.items() if v} == {}
    assert len(families) > 60  # all three sources answered


def test_no_name_is_exported_twice(families: list[tuple[str, Metric]]) -> None:
    counts = Counter(family.name for _, family in families)
    assert [name for name, n in counts.items() if n > 1] == []


def test_service_counters_are_spelled_with_total_and_nothing_else_is() -> None:
    for metric_set in SERVICE_SETS:
        for metric in metric_set.metrics:
            assert metric.name.endswith("_total") == isinstance(metric, CounterDef), metric.name


def test_the_checker_catches_what_the_conventions_forbid() -> None:
    assert problems("api", GaugeMetricFamily("livecore_node_cpu_usage_percent", "x"))
    assert problems("api", GaugeMetricFamily("livecore_node_portfolio_count", "x"))
    assert problems("service", GaugeMetricFamily("livecore_gap_ms", "x"))
    assert problems("service", HistogramMetricFamily("livecore_tick_to_order", "x"))
    assert problems("service", GaugeMetricFamily("livecore_seconds_behind", "x"))
    assert problems("service", CounterMetricFamily("livecore_orders_count", "x"))
    assert problems("service", GaugeMetricFamily("LivecoreOrders", "x"))
    assert problems("service", GaugeMetricFamily("orders", "x"))
    assert not problems("service", GaugeMetricFamily("livecore_node_hosted_portfolios", "x"))
