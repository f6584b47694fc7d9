"""The scheduler does not fail nodes over for its own stall (``scheduler/stall.py``).

Coordination TTLs and the scheduler share one fake monotonic clock, so a stall of
the whole process (GC, a loaded machine) is one ``advance``: every heartbeat key
runs out at once, as it does in ``livecore run`` when the process stops running."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from livecore.adapters.factory import open_store
from livecore.adapters.memory_bus import MemoryBus
from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.errors import ConfigError
from livecore.scheduler.cluster import Cluster, NodeState
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.stall import StallGuard, presume_alive
from livecore.wire import names
from tests.unit.scheduler.harness import FakeClock, Harness

TICK = 0.5
GRACE = 5.0


def node(node_id: str, alive: bool, **portfolios: int) -> NodeState:
    return NodeState(node_id, alive, portfolios=portfolios, reports_known=True)


def cluster(*nodes: NodeState) -> Cluster:
    return Cluster({n.node_id: n for n in nodes})


def test_presume_alive_keeps_what_was_seen_before() -> None:
    before = cluster(node("a", True, p1=1), node("b", True, p2=1), node("c", False))
    now = cluster(node("a", False), node("b", True, p2=2))  # a expired, c gone for good
    merged = presume_alive(now, before)
    assert set(merged.alive) == {"a", "b"}
    assert merged.nodes["a"].portfolios == {"p1": 1}
    assert merged.nodes["b"].portfolios == {"p2": 2}  # a live node is taken as it is now
    assert "c" not in merged.alive


def test_guard_grants_a_grace_only_after_a_gap_longer_than_expected() -> None:
    guard = StallGuard(expected_gap=TICK, threshold=2.0, grace=GRACE)
    up, down = cluster(node("a", True, p1=1)), cluster(node("a", False))
    assert guard.judge(up, 100.0).alive
    assert not guard.judge(down, 102.0).alive  # 2.0 s: slow, not stalled; the node is dead
    guard.judge(up, 102.5)
    assert guard.judge(down, 110.0).alive  # 7.5 s gap: stalled; presumed alive
    assert guard.stalls == 1
    for step in range(1, 10):  # passes every 0.5 s again, inside the grace
        assert guard.judge(down, 110.0 + step * TICK).alive
    assert not guard.judge(down, 115.0).alive  # the grace is over: judged as observed
    assert guard.stalls == 1
    guard.reset()
    assert not guard.judge(down, 200.0).alive  # a new term: no past, no stall


def test_a_zero_grace_disables_the_guard() -> None:
    guard = StallGuard(expected_gap=TICK, threshold=2.0, grace=0.0)
    guard.judge(cluster(node("a", True)), 0.0)
    assert not guard.judge(cluster(node("a", False)), 60.0).alive
    assert guard.stalls == 0
    with pytest.raises(ConfigError):
        SchedulerConfig(stall_grace=-1.0)
    with pytest.raises(ConfigError):
        SchedulerConfig(stall_threshold=0.0)


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[tuple[Harness, FakeClock]]:
    """A harness whose coordination expires keys on the scheduler's fake clock."""
    clock = FakeClock()
    coord = MemoryCoordination(f"memory://{uuid.uuid4().hex}", clock=clock)
    store = open_store(f"sqlite:///{tmp_path / 'livecore.db'}")
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    h = Harness(coord, store, bus, prefix=f"t{uuid.uuid4().hex[:8]}.")
    try:
        yield h, clock
    finally:
        for sched in h.schedulers:
            sched.stop()
        for fake in h.nodes.values():
            fake.close()
        store.close()
        bus.close()


def test_a_stall_of_the_whole_process_fails_no_live_node_over(stalled: tuple[Harness, FakeClock]) -> None:
    h, clock = stalled
    a, b = h.node("a", ttl=3.0), h.node("b", ttl=3.0)
    a.beat()
    b.beat()
    for pid in ("p1", "p2", "p3"):
        h.deploy(pid)
    sched = h.scheduler(clock, tick_interval=TICK, lease_ttl=3.0, stall_grace=GRACE, rebalance_moves=0)
    h.settle(sched)
    placed = {e.portfolio_id: (e.node_id, e.epoch) for e in h.store.registry.list()}
    assert all(epoch == 1 for _, epoch in placed.values())

    clock.advance(8.0)  # the process stood still: every heartbeat (TTL 3 s) ran out
    assert h.coord.get(names.heartbeat_key("a")) is None
    sched.tick()  # the scheduler runs first after the stall: nobody is failed over
    assert sched.stalls == 1
    assert h.store.audit.recent(event="failover") == []
    for _ in range(int(GRACE / TICK) + 4):  # the nodes beat again; time goes on past the grace
        h.step(sched)
        clock.advance(TICK)
    assert {e.portfolio_id: (e.node_id, e.epoch) for e in h.store.registry.list()} == placed
    assert h.store.audit.recent(event="failover") == []
    assert a.loaded and b.loaded


def test_a_node_that_died_during_the_stall_is_failed_over_after_the_grace(
    stalled: tuple[Harness, FakeClock],
) -> None:
    h, clock = stalled
    a, b = h.node("a", ttl=3.0), h.node("b", ttl=3.0)
    a.beat()
    b.beat()
    h.deploy("p1")
    h.deploy("p2")
    sched = h.scheduler(clock, tick_interval=TICK, lease_ttl=3.0, stall_grace=GRACE, rebalance_moves=0)
    h.settle(sched)
    on_a = {e.portfolio_id for e in h.store.registry.list() if e.node_id == "a"}
    assert on_a
    a.die()
    clock.advance(8.0)
    h.step(sched)  # b beats again, a does not
    assert h.store.audit.recent(event="failover") == []
    for _ in range(int(GRACE / TICK) + 2):  # passes at their pace until the grace is over
        clock.advance(TICK)
        h.step(sched)
    failed = {f.detail["portfolio_id"] for f in h.store.audit.recent(event="failover")}
    assert failed == on_a
    assert all(e.node_id == "b" for e in h.store.registry.list())


def test_passes_at_their_pace_are_no_stall(stalled: tuple[Harness, FakeClock]) -> None:
    h, clock = stalled
    sched = h.scheduler(clock, tick_interval=TICK, lease_ttl=3.0)
    for _ in range(5):
        sched.tick()
        clock.advance(TICK + 1.9)  # slow passes (a busy backend), still under the threshold
    assert sched.stalls == 0
