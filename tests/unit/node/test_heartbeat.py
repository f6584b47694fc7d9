import logging
import threading
import time
from typing import Any

import pytest

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.control.metrics import NodeMetrics
from livecore.node.config import NodeConfig
from livecore.node.heartbeat import Heartbeat, WatchedLoop
from livecore.node.loop import ConsumerLoop, LoopSettings
from livecore.node.metrics import NodeStats
from livecore.notify import NoticeKind
from livecore.testing.receiver import RecordingSink
from livecore.wire import names


class Prepared:
    def expire(self) -> list[str]:
        return []


class Hosting:
    def __init__(self) -> None:
        self.fence_checks = 0
        self.prepared = Prepared()

    def check_fences(self) -> list[str]:
        self.fence_checks += 1
        return []

    def request_due_snapshots(self) -> None:
        pass

    def publish_views(self, ttl: float) -> None:
        pass


def stats() -> NodeStats:
    return NodeStats({"p1": 3}, [2, 4], 10, 1, 1, False, "2026-01-01T00:00:00+00:00", 5, NodeMetrics(faulted=0))


class Rig:
    def __init__(self, **config: Any) -> None:
        self.coord = MemoryCoordination()
        self.config = NodeConfig(heartbeat_interval=0.5, heartbeat_ttl=1.5, loop_stall_s=1.0, **config)
        self.loop = ConsumerLoop(
            consumer_factory=lambda: None,  # type: ignore[arg-type,return-value]
            should_run=lambda: True,
            settings=LoopSettings(poll_batch=1, poll_timeout_s=0.1),
        )
        self.loop.ready.set()
        self.thread = threading.Thread(target=lambda: None)
        self.thread_alive = threading.Event()
        self.hosting = Hosting()
        self.claim_lost = 0
        self.notices = RecordingSink()
        self.coord.claim(names.node_claim_key("n1"), "me", 1.5)
        self.heartbeat = Heartbeat(
            node_id="n1",
            config=self.config,
            coord=self.coord,
            hosting=self.hosting,  # type: ignore[arg-type]
            claim_value="me",
            stats=stats,
            loops=lambda: [WatchedLoop(self.loop, self.thread)],
            stop_event=threading.Event(),
            on_claim_lost=self._lost,
            notices=self.notices,
        )

    def _lost(self) -> None:
        self.claim_lost += 1

    def alive_thread(self) -> None:
        self.thread = threading.Thread(target=self.thread_alive.wait, daemon=True)
        self.thread.start()


def test_beat_writes_heartbeat_and_metrics_with_ttl() -> None:
    rig = Rig()
    rig.alive_thread()
    rig.heartbeat.beat()
    value = rig.coord.get_with_ttl(names.heartbeat_key("n1"))
    assert value is not None and value[1] is not None and value[1] <= 1.5
    metrics = rig.coord.hgetall(names.metrics_key("n1"))
    assert metrics["portfolio_count"] == "1" and metrics["queue_size"] == "3.00"
    assert metrics["portfolios"] == '{"p1": 3}' and metrics["faulted"] == "0"
    assert rig.hosting.fence_checks == 1
    rig.thread_alive.set()


def test_a_dead_loop_stops_the_heartbeat_but_not_the_fence_checks(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    rig.alive_thread()
    rig.heartbeat.beat()
    rig.thread_alive.set()
    rig.thread.join()
    with caplog.at_level(logging.CRITICAL):
        rig.heartbeat.beat()
    assert rig.coord.get(names.heartbeat_key("n1")) is None
    assert "thread is dead" in caplog.text
    assert rig.hosting.fence_checks == 2


def test_a_stuck_loop_stops_the_heartbeat_until_it_stamps_again() -> None:
    rig = Rig()
    rig.alive_thread()
    rig.loop.last_alive = time.monotonic() - 5
    rig.heartbeat.beat()
    assert rig.coord.get(names.heartbeat_key("n1")) is None
    assert rig.heartbeat.problem is not None and "stuck" in rig.heartbeat.problem
    rig.loop.last_alive = time.monotonic()
    rig.heartbeat.beat()
    assert rig.coord.get(names.heartbeat_key("n1")) is not None
    rig.thread_alive.set()


def test_a_stuck_loop_is_told_to_the_operator_once() -> None:
    rig = Rig()
    rig.alive_thread()
    rig.loop.last_alive = time.monotonic() - 5
    rig.heartbeat.beat()
    rig.heartbeat.beat()
    (fault,) = rig.notices.of(NoticeKind.FAULT)
    assert fault.startswith("node n1: ") and "stuck" in fault and fault.endswith("heartbeat stopped")
    rig.thread_alive.set()


def test_no_heartbeat_before_the_consumers_are_positioned() -> None:
    rig = Rig()
    rig.alive_thread()
    rig.loop.ready.clear()
    rig.heartbeat.beat()
    assert rig.coord.get(names.heartbeat_key("n1")) is None
    rig.loop.ready.set()
    rig.heartbeat.beat()
    assert rig.coord.get(names.heartbeat_key("n1")) is not None
    rig.thread_alive.set()


def test_a_claim_held_by_another_process_stops_this_one() -> None:
    rig = Rig()
    rig.alive_thread()
    rig.coord.delete(names.node_claim_key("n1"))
    rig.coord.claim(names.node_claim_key("n1"), "someone-else", 10)
    rig.heartbeat.beat()
    assert rig.claim_lost == 1
    assert rig.coord.get(names.heartbeat_key("n1")) is None
    rig.thread_alive.set()
