"""The scheduler does not fail nodes over for its own stall (``scheduler/stall.py``).

Coordination TTLs and the scheduler share one fake monotonic clock, so a stall of
the whole process (GC, a loaded machine) is one ``advance``: every heartbeat key
runs out at once, as it does in ``livecore run`` when the process stops running."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.control.cluster import Cluster, NodeState
from livecore.errors import ConfigError
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.service import Scheduler
from livecore.scheduler.stall import LOG_EVERY_S, StallGuard, presume_alive
from livecore.wire import names
from tests.unit.scheduler.fakes import FakeNode
from tests.unit.scheduler.harness import FakeClock, Harness, harness

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
    with harness(tmp_path, coord=MemoryCoordination(f"memory://{uuid.uuid4().hex}", clock=clock)) as h:
        yield h, clock


def two_nodes_placed(h: Harness, clock: FakeClock, **overrides: object) -> tuple[Scheduler, FakeNode, set[str]]:
    """Nodes a and b (TTL 3 s), p1 and p2 placed by a scheduler on ``clock``: (scheduler, a, portfolios on a)."""
    a, b = h.node("a", ttl=3.0), h.node("b", ttl=3.0)
    a.beat()
    b.beat()
    h.deploy("p1")
    h.deploy("p2")
    sched = h.scheduler(clock, tick_interval=TICK, lease_ttl=3.0, stall_grace=GRACE, **overrides)
    h.settle(sched)
    on_a = {e.portfolio_id for e in h.store.registry.list() if e.node_id == "a"}
    assert on_a
    return sched, a, on_a


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
    sched, a, on_a = two_nodes_placed(h, clock, rebalance_moves=0)
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


def first_pass_judged_dead(guard: StallGuard, start: float, gaps: list[float], down: Cluster) -> float | None:
    """Drive ``guard`` with ``down`` at the given gaps from ``start``; when it first judges the node dead."""
    now = start
    for gap in gaps:
        now += gap
        if not guard.judge(down, now).alive:
            return now
    return None


def test_a_node_dead_for_ten_minutes_under_late_passes_is_judged_dead_after_one_grace() -> None:
    """Passes 1.6 s apart (a loaded machine) are all stalls; none renews a dead node's grace."""
    guard = StallGuard(expected_gap=0.5, threshold=1.0, grace=10.0)
    ttl = 10.0
    guard.judge(cluster(node("a", True, p1=1)), 0.0)  # last beat at 0.0: the key lives until 10.0
    gaps = [1.6] * 375
    up_until = 6  # passes that still see the key: up to 9.6
    now = 0.0
    for gap in gaps[:up_until]:
        now += gap
        assert guard.judge(cluster(node("a", True, p1=1)), now).alive
    dead_at = first_pass_judged_dead(guard, now, gaps[up_until:], cluster(node("a", False)))
    assert dead_at is not None
    assert dead_at <= ttl + 10.0 + 2 * 1.6  # TTL, one grace, the pass that noticed, the pass after
    assert guard.stalls >= 8
    assert not guard.in_grace(now + 600.0)


def test_repeated_short_stalls_do_not_keep_a_dead_node_alive() -> None:
    guard = StallGuard(expected_gap=TICK, threshold=2.0, grace=GRACE)
    guard.judge(cluster(node("a", True, p1=1)), 100.0)
    gaps = [3.0, TICK, TICK] * 20  # a stall every 1.5 s of passes, each ending a new grace window
    dead_at = first_pass_judged_dead(guard, 100.0, gaps, cluster(node("a", False)))
    assert dead_at is not None
    assert dead_at <= 100.0 + 3.0 + GRACE + 3.0  # one grace from the first stall, plus one pass
    assert guard.stalls > 1


def test_a_node_alive_before_each_stall_is_presumed_alive_after_each() -> None:
    guard = StallGuard(expected_gap=TICK, threshold=2.0, grace=GRACE)
    up, down = cluster(node("a", True, p1=1)), cluster(node("a", False))
    now = 100.0
    for _ in range(5):
        guard.judge(up, now)  # seen alive: its heartbeat is really there
        now += 8.0
        assert guard.judge(down, now).alive  # the stall expired it: presumed alive
        now += TICK
    assert guard.stalls == 5


def test_a_stall_warns_once_a_minute_at_most(caplog: pytest.LogCaptureFixture) -> None:
    guard = StallGuard(expected_gap=0.5, threshold=1.0, grace=10.0)
    with caplog.at_level(logging.WARNING, logger="livecore.scheduler.stall"):
        for step in range(376):  # 600 s of passes 1.6 s apart
            guard.judge(cluster(node("a", False)), step * 1.6)
    assert guard.stalls == 375
    assert 1 <= len(caplog.records) <= 600 / LOG_EVERY_S + 1
    assert "stall(s) since the last warning" in caplog.records[-1].getMessage()


def test_a_node_dead_under_late_passes_is_failed_over_after_one_grace(stalled: tuple[Harness, FakeClock]) -> None:
    h, clock = stalled
    sched, a, on_a = two_nodes_placed(h, clock, stall_threshold=1.0)
    a.die()
    died = clock.now
    deadline = died + 3.0 + GRACE + 2 * 1.6
    while not h.store.audit.recent(event="failover") and clock.now <= deadline:
        clock.advance(1.6)  # every pass late: every pass a stall
        h.step(sched)
    failed = {f.detail["portfolio_id"] for f in h.store.audit.recent(event="failover")}
    assert failed == on_a
    assert sched.stalls > 1
