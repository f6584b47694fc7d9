"""A process's own ``/metrics``: served, parsed back, stopped; a busy port is one error."""

from __future__ import annotations

import urllib.error

import pytest
from prometheus_client import CollectorRegistry

from livecore.errors import ConfigError
from livecore.telemetry import PROCESS_REGISTRY, Counter, MetricsConfig, MetricSet, MetricsServer, export
from livecore.testing.scrape import scrape


class Ticker:
    def __init__(self) -> None:
        self.ticks = 0


TICKER: MetricSet[Ticker] = MetricSet("ticker", (Counter("test_ticker_ticks_total", "Ticks.", lambda t: t.ticks),))


def test_serves_the_registry_with_the_process_collectors() -> None:
    ticker = Ticker()
    export(PROCESS_REGISTRY, TICKER, "t1", ticker)
    with MetricsServer("127.0.0.1", 0) as server:
        assert server.port != 0 and server.url == f"http://127.0.0.1:{server.port}/metrics"
        first = scrape(server.url)
        assert first.value("test_ticker_ticks_total", ticker="t1") == 0
        assert (first.value("process_cpu_seconds_total") or 0) > 0
        assert (first.value("process_resident_memory_bytes") or 0) > 10_000_000
        assert first.types["process_cpu_seconds"] == "counter"
        ticker.ticks = 3
        assert scrape(server.url).value("test_ticker_ticks_total", ticker="t1") == 3
    with pytest.raises(urllib.error.URLError):
        scrape(server.url, timeout=2)


def test_a_private_registry_has_no_process_metrics() -> None:
    registry = CollectorRegistry()
    ticker = Ticker()  # held: exported services are held weakly
    export(registry, TICKER, "t1", ticker)
    with MetricsServer("127.0.0.1", 0, registry) as server:
        names = scrape(server.url).names()
    assert names == {"test_ticker_ticks_total"}


def test_a_port_in_use_is_one_config_error() -> None:
    with MetricsServer("127.0.0.1", 0, CollectorRegistry()) as first:
        busy = MetricsServer("127.0.0.1", first.port, CollectorRegistry())
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{first.port}"):
            busy.start()


def test_config_port_zero_is_off_and_bad_values_are_refused() -> None:
    assert not MetricsConfig().enabled and MetricsConfig().host == "127.0.0.1"
    assert MetricsConfig(port=9101).enabled
    with pytest.raises(ConfigError, match=r"MetricsConfig\.port"):
        MetricsConfig(port=70000)
    with pytest.raises(ConfigError, match=r"MetricsConfig\.host"):
        MetricsConfig(host="")
