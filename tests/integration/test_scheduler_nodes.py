"""The scheduler with real ExecutionNodes in one process (embedded backends):
placement, planned migration through the operator action, and failover after
a node stops."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from tests.servers import wait_until
from tests.unit.ops.helpers import write_spec

from livecore import ops
from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.control.commands import CommandChannel
from livecore.control.metrics import parse_portfolios
from livecore.node.config import NodeConfig
from livecore.node.node import ExecutionNode
from livecore.ops.context import Ops, OpsConfig
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.service import Scheduler
from livecore.wire import names
from livecore.wire.signing import CommandSigner

SECRET = "nodes-secret"
WAIT = 20.0


class Cluster:
    def __init__(self, stack: ExitStack, tmp_path: Path) -> None:
        self.bus = open_bus(f"memory://{uuid.uuid4().hex}")
        self.coord = open_coordination(f"memory://{uuid.uuid4().hex}")
        self.store = open_store(f"sqlite:///{tmp_path / 'livecore.db'}")
        stack.callback(self.store.close)
        producer = self.bus.producer()
        stack.callback(producer.close)
        self.channel = CommandChannel(producer, self.coord, CommandSigner(SECRET), names.Topics())
        self.ops = Ops(self.coord, self.store, self.channel, OpsConfig(ack_timeout=10, migrate_timeout=WAIT))
        self.stack = stack
        self.nodes: dict[str, ExecutionNode] = {}

    def node(self, node_id: str) -> ExecutionNode:
        config = NodeConfig(heartbeat_interval=0.5, heartbeat_ttl=1.5, ready_timeout_s=5.0, workers=1)
        node = ExecutionNode(node_id, bus=self.bus, coord=self.coord, store=self.store, config=config, secret=SECRET)
        node.start()
        self.stack.callback(node.stop)
        self.nodes[node_id] = node
        return node

    def hosted(self, node_id: str) -> dict[str, int]:
        return parse_portfolios(self.coord.hgetall(names.metrics_key(node_id)).get("portfolios")) or {}

    def scheduler(self) -> Scheduler:
        config = SchedulerConfig(tick_interval=0.1, lease_ttl=2.0, rebalance_moves=0, load_timeout=5.0)
        sched = Scheduler(config, self.coord, self.store, self.channel)
        sched.start()
        self.stack.callback(sched.stop)
        return sched


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with ExitStack() as stack:
        yield Cluster(stack, tmp_path)


def test_place_migrate_and_fail_over_real_nodes(cluster: Cluster, tmp_path: Path) -> None:
    ops.deploy(cluster.ops, [write_spec(tmp_path, "alpha"), write_spec(tmp_path, "beta", symbol="MSFT")])
    cluster.node("n1")
    wait_until(lambda: cluster.coord.get(names.heartbeat_key("n1")) is not None, WAIT, "n1 heartbeat")
    cluster.scheduler()
    wait_until(lambda: cluster.hosted("n1") == {"alpha": 1, "beta": 1}, WAIT, "both loaded on n1")

    cluster.node("n2")
    wait_until(lambda: cluster.coord.hgetall(names.metrics_key("n2")) != {}, WAIT, "n2 reports")
    result = ops.migrate(cluster.ops, "alpha", "n2")
    assert result.ok, result
    assert (result.source, result.target, result.epoch) == ("n1", "n2", 2)
    assert result.gap_ms is not None
    wait_until(lambda: cluster.hosted("n2") == {"alpha": 2}, WAIT, "alpha reported on n2")
    # n1 reports what it hosts on its own heartbeat, which may come after n2's
    wait_until(lambda: "alpha" not in cluster.hosted("n1"), WAIT, "alpha gone from n1's report")

    cluster.nodes["n1"].stop()
    wait_until(lambda: cluster.hosted("n2") == {"alpha": 2, "beta": 2}, WAIT, "beta failed over to n2")
    expected = {"alpha": ("running", "n2", 2), "beta": ("running", "n2", 2)}

    def states() -> dict[str, tuple[str, str | None, int]]:
        return {p.portfolio_id: (p.state, p.node_id, p.epoch) for p in ops.status(cluster.ops).portfolios}

    # status joins the registry with each node's own report: wait for both to agree
    try:
        wait_until(lambda: states() == expected, WAIT, "status shows both running on n2")
    except TimeoutError:
        raise AssertionError(f"status: {states()}") from None
