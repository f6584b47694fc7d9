"""The leader audits nodes that join and nodes it loses, from its first tick in
office on (a baseline, not a flood of "joined" at each election)."""

from __future__ import annotations

from pathlib import Path

from livecore.control.cluster import Cluster, NodeState
from livecore.control.events import AuditEvent
from livecore.scheduler.membership import Membership
from tests.unit.scheduler.harness import harness


def cluster(*alive: str, dead: str | None = None, hosting: dict[str, int] | None = None) -> Cluster:
    nodes = {nid: NodeState(nid, alive=True, portfolios=hosting or {}) for nid in alive}
    if dead is not None:
        nodes[dead] = NodeState(dead, alive=False)
    return Cluster(nodes)


def test_joins_and_losses_after_a_baseline() -> None:
    seen: list[tuple[str, dict[str, object]]] = []
    membership = Membership(audit=lambda event, detail: seen.append((event, detail)))
    membership.observe(cluster("a", "b"))
    assert seen == []  # the first observation is the baseline
    membership.observe(cluster("a", "b", "c", hosting={"p1": 2, "p0": 1}))
    membership.observe(cluster("a", "c", dead="b"))  # b's heartbeat expired
    membership.observe(cluster("a"))  # c's metrics expired too: gone from the store
    assert seen == [
        (AuditEvent.NODE_JOINED, {"node_id": "c"}),
        (AuditEvent.NODE_LOST, {"node_id": "b", "portfolios": ["p0", "p1"]}),
        (AuditEvent.NODE_LOST, {"node_id": "c", "portfolios": []}),
    ]
    membership.reset()
    membership.observe(cluster("z"))
    assert len(seen) == 3


def test_the_leader_audits_a_node_it_loses_and_one_that_joins(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        b = h.node("b")
        b.beat()
        h.settle(sched)
        a.die()
        h.settle(sched)
        kinds = [AuditEvent.NODE_JOINED, AuditEvent.NODE_LOST]
        events = [(e.event, e.detail) for e in h.store.audit.recent(event=kinds)]
        assert events == [
            ("node_lost", {"node_id": "a", "portfolios": ["p1"]}),
            ("node_joined", {"node_id": "b"}),
        ]
