"""``/metrics``: the Prometheus text, parsed back, over the simulated cluster."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.api.metrics import number
from livecore.ports.coordination import CoordinationError
from livecore.ports.store import StoreError
from livecore.wire import names
from tests.unit.ops.helpers import World

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_node_gauges_and_counters_carry_the_seed_fields(client: TestClient) -> None:
    s = scrape(client)
    assert value(s, "livecore_node_up", node="node-a") == 1
    assert value(s, "livecore_node_up", node="node-b") == 1
    assert value(s, "livecore_node_up", node="node-c") == 0
    age = value(s, "livecore_node_heartbeat_age_seconds", node="node-a")
    assert age is not None and 0.3 < age < 60
    assert value(s, "livecore_node_heartbeat_age_seconds", node="node-c") is None  # no heartbeat to age
    assert value(s, "livecore_node_portfolios", node="node-a") == 2
    assert value(s, "livecore_node_queue_size", node="node-a") == 1.5
    assert value(s, "livecore_node_cpu_usage_ratio", node="node-a") == 0.125
    assert value(s, "livecore_node_cpu_usage_ratio", node="node-b") == 0.005
    assert value(s, "livecore_node_memory_usage_bytes", node="node-a") == 96 * 1024 * 1024
    assert value(s, "livecore_node_capacity", node="node-a") == 100
    assert value(s, "livecore_node_faulted_portfolios", node="node-a") == 1
    assert value(s, "livecore_node_events_total", node="node-a") == 123456
    assert value(s, "livecore_node_backpressure_total", node="node-a") == 7
    assert value(s, "livecore_node_dropped_events_total", node="node-a") == 3
    assert value(s, "livecore_node_orders_sent_total", node="node-a") == 42
    assert value(s, "livecore_node_paused", node="node-a") == 0
    assert value(s, "livecore_node_paused", node="node-b") == 1
    assert value(s, "livecore_node_paused", node="node-c") is None  # dead: neither


def test_portfolio_money_and_state(client: TestClient) -> None:
    s = scrape(client)
    assert value(s, "livecore_portfolio_equity", portfolio="alpha") == 101234.56
    assert value(s, "livecore_portfolio_cash", portfolio="alpha") == 98765.43
    assert value(s, "livecore_portfolio_realized_pnl", portfolio="alpha") == 12.5
    assert value(s, "livecore_portfolio_equity", portfolio="beta") == 50000
    assert value(s, "livecore_portfolio_epoch", portfolio="beta") == 2
    assert value(s, "livecore_portfolio_positions", portfolio="alpha") == 1
    assert value(s, "livecore_portfolio_orders_total", portfolio="alpha") == 17
    assert value(s, "livecore_portfolio_fills_total", portfolio="alpha") == 12
    assert value(s, "livecore_portfolio_faulted", portfolio="alpha") == 0
    assert value(s, "livecore_portfolio_faulted", portfolio="beta") == 1
    assert value(s, "livecore_portfolio_trading_enabled", portfolio="alpha") == 1
    info = dict(portfolio="alpha", node="node-a", strategy="ma_crossover", currency="USD")
    assert value(s, "livecore_portfolio_info", **info) == 1
    assert value(s, "livecore_portfolio_equity", portfolio="gamma") is None  # no live view


def test_registry_and_backend_health(client: TestClient) -> None:
    s = scrape(client)
    assert value(s, "livecore_registry_portfolios", desired="running") == 3
    assert value(s, "livecore_registry_portfolios", desired="stopped") == 1
    assert value(s, "livecore_portfolios_unhosted") == 1  # gamma, on a dead node
    assert value(s, "livecore_coordination_up") == 1
    assert value(s, "livecore_store_up") == 1


def test_scrape_reflects_the_store_at_scrape_time(system: World, client: TestClient) -> None:
    assert value(scrape(client), "livecore_node_cpu_usage_ratio", node="node-b") == 0.005
    system.ops.coord.hset(names.metrics_key("node-b"), {"cpu_usage": "77.0"})
    system.ops.coord.delete(names.heartbeat_key("node-a"))
    s = scrape(client)
    assert value(s, "livecore_node_cpu_usage_ratio", node="node-b") == 0.77
    assert value(s, "livecore_node_up", node="node-a") == 0


def test_unreadable_fields_are_left_out_not_fatal(system: World, client: TestClient) -> None:
    system.ops.coord.hset(names.metrics_key("node-a"), {"cpu_usage": "n/a", "queue_size": ""})
    system.ops.coord.set(names.portfolio_view_key("beta"), "[not, json", ttl=60)
    system.ops.coord.set(names.portfolio_view_key("zeta"), '"a string"', ttl=60)
    s = scrape(client)
    assert value(s, "livecore_node_cpu_usage_ratio", node="node-a") is None
    assert value(s, "livecore_node_queue_size", node="node-a") is None
    assert value(s, "livecore_node_portfolios", node="node-a") == 2
    assert value(s, "livecore_portfolio_equity", portfolio="beta") is None
    assert value(s, "livecore_portfolio_equity", portfolio="alpha") == 101234.56


class DownCoordination(MemoryCoordination):
    """Every read fails, as a Redis that went away would."""

    def scan(self, prefix: str) -> list[str]:
        raise CoordinationError("redis scan on redis://u:hunter2@10.0.0.1:6379/0 failed: Connection refused")

    def get(self, key: str) -> str | None:
        raise CoordinationError("redis get failed: Connection refused")

    def ping(self) -> None:
        raise CoordinationError("redis ping on redis://u:hunter2@10.0.0.1:6379/0 failed: Connection refused")


class DownRegistry:
    def __getattr__(self, name: str) -> Any:
        def fail(*args: object, **kwargs: object) -> None:
            raise StoreError("database is locked")

        return fail


def test_a_down_coordination_store_is_a_gauge_and_a_503(system: World) -> None:
    down = dataclasses.replace(system.ops, coord=DownCoordination())
    with TestClient(create_app(down, ApiConfig())) as client:
        s = scrape(client)
        assert value(s, "livecore_coordination_up") == 0
        assert value(s, "livecore_store_up") == 1
        assert not [k for k in s if k[0].startswith("livecore_node_")]
        status = client.get("/api/status")
        assert status.status_code == 503 and status.json()["error"] == "backend_unavailable"
        assert "hunter2" not in status.text
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["store"] == "ok" and "Connection refused" in health.json()["coordination"]
        assert "hunter2" not in health.text and "u:***@" in health.text


def test_a_down_store_is_a_gauge_and_a_503(system: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.ops.store, "registry", DownRegistry())

    def no_ping() -> None:
        raise StoreError("cannot reach postgresql://u:***@db:5432/livecore")

    monkeypatch.setattr(system.ops.store, "ping", no_ping)
    with TestClient(create_app(system.ops, ApiConfig())) as client:
        s = scrape(client)
        assert value(s, "livecore_store_up") == 0
        assert value(s, "livecore_coordination_up") == 1
        assert value(s, "livecore_node_up", node="node-a") == 1
        assert client.get("/api/portfolios").status_code == 503
        assert client.get("/api/health").json()["store"].startswith("cannot reach")


def test_each_app_has_its_own_registry(system: World) -> None:
    first, second = create_app(system.ops), create_app(system.ops)
    with TestClient(first) as a, TestClient(second) as b:
        assert value(scrape(a), "livecore_node_up", node="node-a") == 1
        assert value(scrape(b), "livecore_node_up", node="node-a") == 1
        assert not [k for k in scrape(a) if k[0].startswith("python_") or k[0].startswith("process_")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12.5", 12.5), ("1e3", 1000.0), (7, 7.0), (True, 1.0), ("abc", None), ("", None), (None, None), ([], None)],
)
def test_number(raw: object, expected: float | None) -> None:
    assert number(raw) == expected
