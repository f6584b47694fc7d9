"""A broken bus is visible everywhere: ``status``, ``/api/health``, ``/metrics``.

Processes report through coordination (nodes in their metrics hash, gateways
and feeds with a ``BusHealthReporter``), so the simulated cluster only needs
those keys; the reporter runs against a bus whose health the test switches.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from livecore import ops as actions
from livecore.adapters.memory_bus import MemoryBus
from livecore.health import BusHealthReporter, bus_health_fields, parse_bus_health
from livecore.ports.bus import HEALTHY, BusHealth
from livecore.wire import names
from tests.unit.api.test_metrics import scrape, value
from tests.unit.ops.helpers import World

DOWN = BusHealth(ok=False, reason="broker: broker 127.0.0.1:9 unreachable: Local: Broker transport failure", since_ns=5)


class SwitchableBus(MemoryBus):
    """A memory bus whose health the test sets."""

    def __init__(self) -> None:
        super().__init__("memory://switchable")
        self.current = HEALTHY

    def health(self) -> BusHealth:
        return self.current


def test_fields_round_trip() -> None:
    parsed = parse_bus_health("gateway:g", bus_health_fields(DOWN))
    assert parsed is not None and (parsed.ok, parsed.reason, parsed.since_ns) == (False, DOWN.reason, 5)
    assert parse_bus_health("node:n", {"state": "running"}) is None  # a process that does not report


def test_a_memory_bus_is_always_healthy() -> None:
    assert MemoryBus("memory://x").health().ok


def test_a_gateway_whose_broker_is_down_degrades_status_health_and_metrics(system: World, client: TestClient) -> None:
    bus = SwitchableBus()
    reporter = BusHealthReporter(bus=bus, coord=system.ops.coord, process="gateway:gw1", ttl_s=30)
    reporter.report_once()
    assert actions.status(system.ops).health == "ok"
    assert client.get("/api/health").status_code == 200
    assert value(scrape(client), "livecore_bus_healthy", process="gateway:gw1") == 1

    bus.current = DOWN
    reporter.report_once()
    report = actions.status(system.ops)
    assert report.health == "degraded"
    assert report.problems == [f"gateway:gw1: bus: {DOWN.reason}"]
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["bus"] == f"gateway:gw1: {DOWN.reason}"
    assert value(scrape(client), "livecore_bus_healthy", process="gateway:gw1") == 0

    bus.current = HEALTHY
    reporter.report_once()
    assert actions.status(system.ops).health == "ok"
    assert client.get("/api/health").status_code == 200


def test_a_report_expires_with_its_process(system: World) -> None:
    bus = SwitchableBus()
    bus.current = DOWN
    BusHealthReporter(bus=bus, coord=system.ops.coord, process="feed:f", ttl_s=30).report_once()
    assert actions.status(system.ops).health == "degraded"
    system.ops.coord.delete(names.bus_health_key("feed:f"))  # what the TTL does when the process is gone
    assert actions.status(system.ops).health == "ok"


def test_a_node_reporting_a_broken_bus_shows_degraded_with_its_portfolios(system: World, client: TestClient) -> None:
    system.ops.coord.hset(names.metrics_key("node-a"), bus_health_fields(DOWN), ttl=30)
    report = actions.status(system.ops)
    assert report.health == "degraded"
    assert report.problems == [f"node:node-a: bus: {DOWN.reason}"]
    row = next(n for n in report.nodes if n.node_id == "node-a")
    assert (row.bus_ok, row.bus_reason) == (False, DOWN.reason)
    states = {p.portfolio_id: p.state for p in report.portfolios}
    assert states["alpha"] == "degraded: bus"  # it is hosted but cannot trade
    assert value(scrape(client), "livecore_bus_healthy", process="node:node-a") == 0
