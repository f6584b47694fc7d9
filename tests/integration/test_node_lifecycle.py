"""ExecutionNode lifecycle per the seed: construction prepares only, start runs
the four named threads and heartbeats, a second start warns, stop follows the
seed's order and cleans up, a stopped node starts again, a duplicate id is
refused."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.integration.test_node_support import SECRET, TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.adapters.factory import open_coordination, open_store
from livecore.adapters.memory_bus import MemoryBus
from livecore.node import ExecutionNode, NodeAlreadyRunning, NodeConfig
from livecore.ports.bus import AssignedConsumer, Bus, Consumer, ConsumerSettings, OffsetReset, Producer
from livecore.ports.coordination import SessionState
from livecore.ports.store import SnapshotStore, Store, StoredSnapshot
from livecore.wire import names

SEED_METRICS = {
    "portfolio_count",
    "queue_size",
    "cpu_usage",
    "memory_usage",
    "total_events",
    "backpressure_count",
    "dropped_events",
}


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


@pytest.fixture
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig("embedded", request, tmp_path)


def seed_threads(node_id: str) -> set[str]:
    return {f"{label}_{node_id}" for label in ("heartbeat", "schedule_updates", "market_data", "order_feedback")}


class SpyBus(Bus):
    """Counts every call: construction must not touch the bus."""

    def __init__(self, inner: Bus) -> None:
        self.inner, self.url = inner, inner.url
        self.calls: list[str] = []

    def create_topics(self, topics: Mapping[str, int]) -> None:
        self.calls.append("create_topics")
        self.inner.create_topics(topics)

    def producer(self, linger_ms: int | None = None) -> Producer:
        self.calls.append("producer")
        return self.inner.producer(linger_ms)

    def consumer(
        self,
        group_id: str,
        topics: Sequence[str],
        offset_reset: OffsetReset = "latest",
        settings: ConsumerSettings | None = None,
    ) -> Consumer:
        self.calls.append("consumer")
        return self.inner.consumer(group_id, topics, offset_reset, settings)

    def assigned_consumer(self, topic: str, settings: ConsumerSettings | None = None) -> AssignedConsumer:
        self.calls.append("assigned_consumer")
        return self.inner.assigned_consumer(topic, settings)

    def partition_count(self, topic: str) -> int:
        self.calls.append("partition_count")
        return self.inner.partition_count(topic)

    def ping(self, timeout: float = 5.0) -> None:
        self.calls.append("ping")

    def close(self) -> None:
        self.calls.append("close")


def test_construction_prepares_structures_only(tmp_path: Path) -> None:
    bus = SpyBus(MemoryBus(f"memory://{uuid.uuid4().hex}"))
    coord = open_coordination(f"memory://{uuid.uuid4().hex}")
    store = open_store(f"sqlite:///{tmp_path}/n.db")
    before = set(threading.enumerate())
    node = ExecutionNode("seed-node", bus=bus, coord=coord, store=store, secret=SECRET)
    assert set(threading.enumerate()) == before
    assert bus.calls == []
    assert coord.scan("") == []
    # the seed's public fields and defaults
    assert node.node_id == "seed-node" and node.is_running is False
    assert len(node.portfolios) == 0 and node.portfolios.ids() == []
    assert (node.heartbeat_interval, node.heartbeat_ttl) == (10, 30)
    assert (node.backpressure_count, node.dropped_event_count, node.total_event_count) == (0, 0, 0)
    assert node.interest_map.lookup("AAPL") == ()
    node.stop()  # not running: nothing happens
    store.close()


def test_start_heartbeat_metrics_double_start_stop_and_restart(rig: NodeRig, caplog: pytest.LogCaptureFixture) -> None:
    node = rig.node()
    nid = node.node_id
    rig.start(node)
    assert seed_threads(nid) <= {t.name for t in threading.enumerate()}
    assert all(t.daemon for t in threading.enumerate() if t.name in seed_threads(nid))

    beat = rig.coord.get_with_ttl(names.heartbeat_key(nid))
    assert beat is not None
    stamp, ttl = beat
    assert ttl is not None and 0 < ttl <= 1.5
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None

    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    wait_until(lambda: rig.coord.hgetall(names.metrics_key(nid)).get("portfolio_count") == "1", TIMEOUT, "metrics")
    metrics = rig.coord.hgetall(names.metrics_key(nid))
    assert metrics.keys() >= SEED_METRICS
    assert json.loads(metrics["portfolios"]) == {pid: 1}
    assert metrics["state"] == "running" and metrics["capacity"] == str(node.config.capacity)
    rss = psutil.Process().memory_info().rss
    assert 0.5 * rss < int(metrics["memory_usage"]) < 2 * rss  # real RSS, not a placeholder
    assert float(metrics["cpu_usage"]) >= 0.0
    dt.datetime.fromisoformat(metrics["started_at"])
    dt.datetime.fromisoformat(metrics["updated_at"])
    # the views are written after the metrics hash, in the same beat
    wait_until(lambda: rig.coord.get(names.portfolio_view_key(pid)) is not None, TIMEOUT, "portfolio view")
    view = rig.coord.get(names.portfolio_view_key(pid))
    assert view is not None and json.loads(view)["node_id"] == nid
    session = metrics["session"]  # the node's coordination session: open while it runs
    assert rig.coord.session_states([session]) == {session: SessionState.OPEN}

    with caplog.at_level(logging.WARNING, logger="livecore.node.node"):
        node.start()
    assert any("already running" in r.getMessage() for r in caplog.records)

    node.stop()
    assert not node.is_running
    assert not (seed_threads(nid) & {t.name for t in threading.enumerate()})
    assert rig.coord.get(names.heartbeat_key(nid)) is None
    assert rig.coord.hgetall(names.metrics_key(nid)) == {}
    assert rig.coord.get(names.node_claim_key(nid)) is None
    wait_until(lambda: rig.coord.session_states([session])[session] is SessionState.CLOSED, TIMEOUT, "closed")
    assert node.portfolios.ids() == []
    stored = rig.store.snapshots.latest(pid)
    assert stored is not None and stored.epoch == 1  # flushed at stop

    rig.start(node)  # a stopped node starts again
    rig.fence(pid, 2, nid)
    assert rig.command(nid, "portfolio.load", pid, epoch=2).ok
    rig.tick("AAA", "10")
    orders = rig.wait_orders(pid, 1)
    assert orders[-1][1].client_order_id == f"{pid}-2-1"
    wait_until(lambda: rig.coord.hgetall(names.metrics_key(nid)).get("session") not in (None, session), TIMEOUT, "new")


def test_a_second_node_with_a_live_id_is_refused(rig: NodeRig) -> None:
    first = rig.running_node()
    twin = rig.node(first.node_id)
    before = set(threading.enumerate())
    with pytest.raises(NodeAlreadyRunning, match=f"node {first.node_id} is already running"):
        twin.start()
    assert not twin.is_running
    assert set(threading.enumerate()) <= before
    assert first.ready
    first.stop()
    rig.start(twin)  # the id is free once its holder stopped


class RecordingSnapshots(SnapshotStore):
    """Notes, at each save, whether the node's heartbeat thread was still alive."""

    def __init__(self, inner: SnapshotStore, node_id: str) -> None:
        self.inner, self.node_id = inner, node_id
        self.saves: list[dict[str, Any]] = []

    def save(self, portfolio_id: str, epoch: int, data: bytes, taken_ns: int) -> int:
        alive = {t.name for t in threading.enumerate()}
        self.saves.append({"heartbeat_alive": f"heartbeat_{self.node_id}" in alive, "pid": portfolio_id})
        return self.inner.save(portfolio_id, epoch, data, taken_ns)

    def latest(self, portfolio_id: str) -> StoredSnapshot | None:
        return self.inner.latest(portfolio_id)


class WrappedStore(Store):
    def __init__(self, inner: Store, snapshots: SnapshotStore) -> None:
        self.url, self.snapshots = inner.url, snapshots
        self.journal, self.registry, self.audit = inner.journal, inner.registry, inner.audit
        self.equity = inner.equity
        self._inner = inner

    def ping(self) -> None:
        self._inner.ping()

    def close(self) -> None:
        """The rig closes the inner store."""


def test_stop_joins_the_heartbeat_before_the_final_snapshots(embedded: NodeRig) -> None:
    nid = "stop-order"
    recording = RecordingSnapshots(embedded.store.snapshots, nid)
    config = NodeConfig(**{**_fields(embedded.config), "snapshot_interval_s": 3600.0})
    node = ExecutionNode(
        nid,
        bus=embedded.bus,
        coord=embedded.coord,
        store=WrappedStore(embedded.store, recording),
        config=config,
        secret=SECRET,
    )
    embedded.nodes.append(node)
    embedded.start(node)
    pids = [embedded.pid() for _ in range(3)]
    for pid in pids:
        embedded.load(node, pid, ["AAA"])
    recording.saves.clear()
    node.stop()
    assert sorted(s["pid"] for s in recording.saves) == sorted(pids)  # every portfolio flushed
    assert not any(s["heartbeat_alive"] for s in recording.saves)  # heartbeat joined first


def _fields(config: NodeConfig) -> dict[str, Any]:
    return {f: getattr(config, f) for f in config.__dataclass_fields__}
