"""A node whose process is gone is failed over by its closed session, without
waiting for its heartbeat TTL; a stalled node keeps its portfolios until its
TTL runs out; a node without a session is judged by its TTL alone. The audit
log says which rule failed a node over (``reason``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.control.cluster import Cluster, NodeLoss, NodeState
from livecore.errors import ConfigError
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.stall import StallGuard, presume_alive
from livecore.wire import names
from tests.servers import wait_until
from tests.unit.scheduler.harness import FakeClock, Harness, harness

TTL = 30.0  # far longer than any test waits: only a closed session can fail a node over quickly
TICK = 0.5
WAIT = 15.0


def failovers(h: Harness) -> dict[str, str]:
    """{portfolio: reason} of the failovers audited so far."""
    return {f.detail["portfolio_id"]: f.detail["reason"] for f in h.store.audit.recent(event="failover")}


def placed_on_a(h: Harness) -> set[str]:
    return {e.portfolio_id for e in h.store.registry.list() if e.node_id == "a"}


def test_a_crashed_node_is_failed_over_at_the_next_pass_while_its_heartbeat_lives(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a", ttl=TTL), h.node("b", ttl=TTL)
        a.beat()
        b.beat()
        for pid in ("p1", "p2", "p3"):
            h.deploy(pid)
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        on_a = placed_on_a(h)
        assert on_a
        a.crash()  # kill -9: the session ends with the process, its keys stay
        assert h.coord.get(names.heartbeat_key("a")) is not None
        h.step(sched)
        assert failovers(h) == dict.fromkeys(on_a, "session_closed")
        h.settle(sched)
        assert b.loaded == {pid: 2 for pid in on_a} | {pid: 1 for pid in {"p1", "p2", "p3"} - on_a}


def test_a_node_without_a_session_is_judged_by_its_ttl_alone(tmp_path: Path) -> None:
    clock = FakeClock()
    with harness(tmp_path, coord=MemoryCoordination(f"memory://{uuid.uuid4().hex}", clock=clock)) as h:
        a, b = h.node("a", ttl=3.0, session=False), h.node("b", ttl=3.0)
        a.beat()
        b.beat()
        h.deploy("p1")
        sched = h.scheduler(clock, tick_interval=TICK, lease_ttl=3.0, rebalance_moves=0)
        h.settle(sched)
        assert a.loaded == {"p1": 1}
        a.crash()
        for _ in range(5):  # passes at their pace; the key (TTL 3 s) still lives
            clock.advance(TICK)
            h.step(sched)
        assert failovers(h) == {}
        clock.advance(TICK)
        h.step(sched)
        assert failovers(h) == {"p1": "heartbeat_expired"}


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Harness, FakeClock]]:
    clock = FakeClock()
    with harness(tmp_path, coord=MemoryCoordination(f"memory://{uuid.uuid4().hex}", clock=clock)) as h:
        yield h, clock


def test_a_stalled_node_keeps_its_portfolios_until_its_ttl_runs_out(clocked: tuple[Harness, FakeClock]) -> None:
    """SIGSTOP: no beat, but the session stays open; the TTL alone decides."""
    h, clock = clocked
    a, b = h.node("a", ttl=3.0), h.node("b", ttl=3.0)
    a.beat()
    b.beat()
    h.deploy("p1")
    h.deploy("p2")
    sched = h.scheduler(clock, tick_interval=TICK, lease_ttl=3.0, rebalance_moves=0)
    h.settle(sched)
    on_a = placed_on_a(h)
    a.alive = False  # stopped: it beats no more, its session stays open
    for _ in range(5):  # 2.5 s of passes: the key (TTL 3 s) still lives
        clock.advance(TICK)
        h.step(sched)
    assert failovers(h) == {}
    clock.advance(TICK)
    h.step(sched)
    assert failovers(h) == dict.fromkeys(on_a, "heartbeat_expired")


def test_a_closed_session_is_not_presumed_alive_after_a_stall_of_the_scheduler() -> None:
    """A stall explains an expired heartbeat, never a closed session."""
    guard = StallGuard(expected_gap=TICK, threshold=2.0, grace=5.0)
    seen = Cluster({n: NodeState(n, True, portfolios={"p1": 1}, reports_known=True) for n in ("a", "b")})
    guard.judge(seen, 100.0)
    after = Cluster(
        {
            "a": NodeState("a", False, lost=NodeLoss.SESSION_CLOSED),
            "b": NodeState("b", False, lost=NodeLoss.HEARTBEAT_EXPIRED),
        }
    )
    judged = guard.judge(after, 110.0)
    assert set(judged.alive) == {"b"}
    assert set(presume_alive(after, seen).alive) == {"b"}


def test_between_passes_a_closed_session_starts_a_pass_at_once(tmp_path: Path) -> None:
    """With passes a minute apart, a crashed node is still failed over within the test's wait."""
    with harness(tmp_path) as h:
        a, b = h.node("a", ttl=TTL, interval=0.01), h.node("b", ttl=TTL, interval=0.01)
        a.start()
        b.start()
        h.deploy("p1")
        for node in ("a", "b"):  # both seen at the first pass: the next is a minute away
            wait_until(lambda n=node: bool(h.coord.hgetall(names.metrics_key(n))), WAIT, f"{node} reports")
        sched = h.scheduler(tick_interval=60.0, lease_ttl=120.0, session_poll=0.01, rebalance_moves=0)
        stop = threading.Event()
        loop = threading.Thread(target=sched.run, args=(stop,), daemon=True)
        loop.start()
        try:
            wait_until(lambda: (a.loaded or b.loaded) == {"p1": 1}, WAIT, "p1 loaded")
            holder = a if a.loaded else b
            other = b if holder is a else a
            holder.crash()
            wait_until(lambda: failovers(h) == {"p1": "session_closed"}, WAIT, "failover by the closed session")
            wait_until(lambda: other.loaded == {"p1": 2}, WAIT, "p1 loaded on the survivor")
            assert sched.sessions_closed == 1
        finally:
            stop.set()
            loop.join(10)


def test_session_poll_is_checked() -> None:
    assert SchedulerConfig(session_poll=None).session_poll is None
    with pytest.raises(ConfigError, match="session_poll"):
        SchedulerConfig(session_poll=0.0)
