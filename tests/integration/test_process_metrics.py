"""Each long-running service on its process's ``/metrics``: served over HTTP,
parsed back as Prometheus would, and moving when events flow (embedded backends,
in-process services; the node and LiveCore through real market data)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from tests.integration.test_gateway_service import Harness, order
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore import ops
from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.config import DeploymentSettings
from livecore.gateway.telemetry import export_gateway
from livecore.livecore import FEED_NAME, LiveCore, LiveCoreConfig, ReplayPlan
from livecore.node.telemetry import EVENT_AGE, TICK_TO_ORDER, export_node
from livecore.scheduler.telemetry import MIGRATION_GAP
from livecore.telemetry import MetricsServer
from livecore.testing.scrape import Scrape, scrape
from livecore.topology import DEFAULT_LAYOUT
from livecore.wire.partitioning import market_partition


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig("embedded", request, tmp_path)


def count(s: Scrape, name: str, **labels: str) -> float:
    return s.value(name, **labels) or 0.0


def test_node_metrics_move_as_market_data_flows(rig: NodeRig) -> None:
    registry = CollectorRegistry()
    node = rig.running_node()
    nid = node.node_id
    export_node(node, registry)
    with MetricsServer("127.0.0.1", 0, registry) as server:
        before = scrape(server.url)
        assert before.types[TICK_TO_ORDER] == before.types[EVENT_AGE] == "histogram"
        assert count(before, f"{TICK_TO_ORDER}_count", node=nid) == 0
        assert count(before, "livecore_node_hosted_portfolios", node=nid) == 0
        pid = rig.pid()
        rig.load(node, pid, ["AAA"])
        rig.ticks([("AAA", "10"), (_neighbour("AAA"), "1")])
        rig.wait_orders(pid, 1)
        wait_until(lambda: count(scrape(server.url), f"{TICK_TO_ORDER}_count", node=nid) >= 1, TIMEOUT, "tick->order")
        wait_until(
            lambda: count(scrape(server.url), "livecore_node_orders_delivered_total", node=nid) >= 1,
            TIMEOUT,
            "delivery counted",
        )
        after = scrape(server.url)
    assert count(after, f"{EVENT_AGE}_count", node=nid) >= 2
    assert count(after, f"{EVENT_AGE}_bucket", node=nid, le="+Inf") == count(after, f"{EVENT_AGE}_count", node=nid)
    assert count(after, f"{EVENT_AGE}_bucket", node=nid, le="10.0") >= 2  # fresh ticks: far younger than 10 s
    assert 0 < count(after, f"{TICK_TO_ORDER}_sum", node=nid) < 10
    assert count(after, "livecore_node_market_events_received_total", node=nid) >= 2
    assert count(after, "livecore_node_market_events_routed_total", node=nid) >= 1
    assert count(after, "livecore_node_market_events_unrouted_total", node=nid) >= 1
    assert count(after, "livecore_node_hosted_portfolios", node=nid) == 1


@pytest.fixture
def gateway_harness(tmp_path: Path) -> Iterator[Harness]:
    bus = open_bus(f"memory://{uuid.uuid4().hex}")
    coord = open_coordination(f"memory://{uuid.uuid4().hex}")
    store = open_store(f"sqlite:///{tmp_path}/gw.db")
    h = Harness(bus, coord, store)
    try:
        yield h
    finally:
        h.close()
        store.close()
        coord.close()
        bus.close()


def test_gateway_counts_orders_fills_rejections_and_feedback(gateway_harness: Harness) -> None:
    h = gateway_harness
    registry = CollectorRegistry()
    gateway = h.start()
    gid = gateway.gateway_id
    export_gateway(gateway, registry)
    pid, unfenced = h.pid(), h.pid()
    h.fence(pid, 1)
    h.send(order(pid, 1))
    h.send(order(unfenced, 1))  # no owner: rejected
    h.wait_for(pid, 1)
    h.tick("AAA", "20")
    h.wait_for(pid, 2)
    h.wait_for(unfenced, 1)
    with MetricsServer("127.0.0.1", 0, registry) as server:
        wait_until(
            lambda: count(scrape(server.url), "livecore_gateway_feedback_published_total", gateway=gid) >= 3,
            TIMEOUT,
            "three reports published",
        )
        s = scrape(server.url)
    assert count(s, "livecore_gateway_orders_total", gateway=gid) == 2
    assert count(s, "livecore_gateway_fills_total", gateway=gid) == 1
    assert count(s, "livecore_gateway_rejections_total", gateway=gid) == 1
    assert count(s, "livecore_gateway_feedback_published_total", gateway=gid) == 3  # accepted, filled, rejected
    assert count(s, "livecore_gateway_market_events_total", gateway=gid) >= 1
    assert s.value("livecore_gateway_halted_portfolios", gateway=gid) == 0


def test_livecore_exports_every_service_and_the_histograms_move(tmp_path: Path) -> None:
    """One process: two nodes, the gateway, the scheduler and the feed in one registry,
    the nodes as two series of each family; a planned migration fills the gap histogram."""
    settings = DeploymentSettings(
        bus_url=f"memory://{uuid.uuid4().hex}",
        coord_url=f"memory://{uuid.uuid4().hex}",
        db_url=f"sqlite:///{tmp_path / 'lc.db'}",
    )
    registry = CollectorRegistry()
    core = LiveCore(settings, LiveCoreConfig(nodes=2, feed=ReplayPlan(speed=86_400 * 200.0), ready_timeout_s=60))
    with core, MetricsServer("127.0.0.1", 0, registry) as server:
        core.export_metrics(registry)
        assert core.gateway is not None and core.scheduler is not None
        sid, gid = core.scheduler.config.scheduler_id, core.gateway.gateway_id

        def orders_timed() -> float:
            s = scrape(server.url)
            return sum(count(s, f"{TICK_TO_ORDER}_count", node=n.node_id) for n in core.nodes)

        wait_until(lambda: orders_timed() >= 5, 60, "orders timed tick->order")
        entry = next(p for p in core.status().portfolios if p.state == "running")
        target = next(n.node_id for n in core.nodes if n.node_id != entry.node_id)
        result = ops.migrate(core.ops, entry.portfolio_id, target, timeout=60)
        assert result.ok, result.detail
        s = scrape(server.url)
        deployed = len(core.status().portfolios)
    for node in core.nodes:
        assert count(s, f"{EVENT_AGE}_count", node=node.node_id) > 0
        assert count(s, "livecore_node_market_events_received_total", node=node.node_id) > 0
    assert count(s, "livecore_feed_events_published_total", feed=FEED_NAME) > 0
    assert count(s, "livecore_gateway_fills_total", gateway=gid) > 0
    assert s.value("livecore_scheduler_leader", scheduler=sid) == 1
    assert s.value("livecore_scheduler_nodes_alive", scheduler=sid) == 2
    assert count(s, "livecore_scheduler_portfolios_placed", scheduler=sid) == deployed
    assert count(s, "livecore_scheduler_migrations_total", scheduler=sid) == 1
    assert count(s, f"{MIGRATION_GAP}_count", scheduler=sid) == 1
    assert 0 <= count(s, f"{MIGRATION_GAP}_sum", scheduler=sid) < 60


def _neighbour(symbol: str) -> str:
    """A symbol nobody trades in ``symbol``'s partition (a node reads only its portfolios')."""
    count = DEFAULT_LAYOUT.market_data
    wanted = market_partition(symbol, count)
    return next(f"Z{i}" for i in range(10_000) if market_partition(f"Z{i}", count) == wanted)
