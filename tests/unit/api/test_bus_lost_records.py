"""Records a consumer skipped behind retention reach the operator: a process's
bus report carries the count and ``status`` calls it a problem."""

from __future__ import annotations

from livecore import ops as actions
from livecore.adapters.memory_bus import MemoryBus, MemoryBusSettings
from livecore.health import BusHealthReporter, bus_health_fields
from livecore.ports.bus import HEALTHY, BusHealth
from livecore.wire import names
from tests.unit.ops.helpers import World

LOST = BusHealth(ok=True, reason="", since_ns=0, lost_records=7)


class LossyBus(MemoryBus):
    """A memory bus whose health (and loss count) the test sets."""

    def __init__(self) -> None:
        super().__init__("memory://lossy")
        self.current = HEALTHY

    def health(self) -> BusHealth:
        return self.current


def test_a_gateway_that_lost_records_degrades_status(system: World) -> None:
    bus = LossyBus()
    reporter = BusHealthReporter(bus=bus, coord=system.ops.coord, process="gateway:gw1", ttl_s=30)
    bus.current = BusHealth(ok=True, reason="", since_ns=0, lost_records=0)
    reporter.report_once()
    assert actions.status(system.ops).health == "ok"
    bus.current = LOST
    reporter.report_once()
    report = actions.status(system.ops)
    assert report.health == "degraded"
    assert report.problems == ["gateway:gw1: bus: 7 records lost behind retention"]
    assert [b.lost_records for b in report.bus if b.process == "gateway:gw1"] == [7]


def test_a_node_that_lost_records_shows_them_in_its_row_and_problems(system: World) -> None:
    system.ops.coord.hset(names.metrics_key("node-a"), bus_health_fields(LOST), ttl=30)
    report = actions.status(system.ops)
    assert report.problems == ["node:node-a: bus: 7 records lost behind retention"]
    row = next(n for n in report.nodes if n.node_id == "node-a")
    assert (row.bus_ok, row.bus_lost_records) == (True, 7)
    states = {p.portfolio_id: p.state for p in report.portfolios}
    assert states["alpha"] == "running"  # the bus works; what it lost is the problem line


def test_a_backend_that_cannot_count_reports_no_figure() -> None:
    assert names.BUS_LOST_FIELD not in bus_health_fields(HEALTHY)


def test_a_memory_bus_consumer_behind_retention_shows_up_in_status(system: World) -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=1000))
    bus.create_topics({"t": 1})
    consumer = bus.consumer("md", ["t"], "latest")  # never commits: holds nothing
    producer = bus.producer()
    for _ in range(50):
        producer.publish("t", "k", b"x" * 100)
    assert consumer.poll(timeout=0) == []
    lost = consumer.lost_records()
    assert lost
    BusHealthReporter(bus=bus, coord=system.ops.coord, process="feed:f", ttl_s=30).report_once()
    assert actions.status(system.ops).problems == [f"feed:f: bus: {lost} records lost behind retention"]
