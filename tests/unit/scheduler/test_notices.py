"""The leader tells the operator about a node it lost and each portfolio it
failed over; a standby and a new leader's first pass tell nothing."""

from __future__ import annotations

from pathlib import Path

from livecore.notify import NoticeKind
from livecore.testing.receiver import RecordingSink
from tests.unit.scheduler.harness import harness


def test_a_dead_node_and_its_failovers_are_told_once(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        a.beat()
        h.deploy("p1")
        sink = RecordingSink()
        sched = h.scheduler(notices=sink, rebalance_moves=0, affinity_slack=0)
        h.settle(sched)
        b.beat()
        h.settle(sched)
        assert sink.notices == []
        host = a if "p1" in a.loaded else b
        other = b if host is a else a
        host.die()
        h.settle(sched)
        h.settle(sched)
        lost = sink.of(NoticeKind.NODE_LOST)
        assert len(lost) == 1 and lost[0].startswith(f"node {host.node_id} no longer heartbeats")
        assert sink.of(NoticeKind.FAILOVER) == [f"p1: from dead node {host.node_id} to {other.node_id} at epoch 2"]


def test_a_failover_to_nowhere_says_so(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        sink = RecordingSink()
        sched = h.scheduler(notices=sink)
        h.settle(sched)
        a.die()
        h.step(sched)
        assert sink.of(NoticeKind.FAILOVER) == ["p1: from dead node a to nowhere yet (no node can take it) at epoch 2"]
        assert len(sink.of(NoticeKind.NODE_LOST)) == 1


def test_only_the_leader_tells(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        told, quiet = RecordingSink(), RecordingSink()
        leader = h.scheduler(notices=told)
        h.settle(leader)
        standby = h.scheduler(notices=quiet)
        h.step(standby)
        a.die()
        h.step(leader)
        h.step(standby)
        assert told.of(NoticeKind.NODE_LOST) and quiet.notices == []
