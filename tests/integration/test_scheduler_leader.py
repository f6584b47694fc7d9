"""Leader election between schedulers sharing one coordination backend
(in-process and a real redis-server)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.servers import wait_until
from tests.unit.scheduler.harness import harness

from livecore.scheduler.service import Scheduler

TTL = 1.0
WAIT = 10.0


def _leaders(*schedulers: Scheduler) -> list[Scheduler]:
    return [s for s in schedulers if s.is_leader]


def test_exactly_one_leader_and_the_standby_takes_over_when_the_leader_stops(tmp_path: Path, coord_url: str) -> None:
    lease = f"scheduler:leader:{uuid.uuid4().hex}"
    with harness(tmp_path, coord_url) as h:
        first = h.scheduler(scheduler_id="first", lease_name=lease, lease_ttl=TTL, tick_interval=0.05)
        second = h.scheduler(scheduler_id="second", lease_name=lease, lease_ttl=TTL, tick_interval=0.05)
        first.start()
        wait_until(lambda: first.is_leader, WAIT, "first scheduler leads")
        second.start()
        # The standby keeps trying every tick and never wins while the leader renews.
        for _ in range(10):
            second.tick()
            assert _leaders(first, second) == [first]
        epoch = first.leader_epoch
        assert epoch is not None
        first.stop()
        wait_until(lambda: second.is_leader, WAIT, "standby takes over")
        assert not first.is_leader
        assert second.leader_epoch is not None and second.leader_epoch > epoch
        wait_until(lambda: len(h.store.audit.recent(event="leader_elected")) == 2, WAIT, "election audited")
        elected = h.store.audit.recent(event="leader_elected")
        assert [e.detail["scheduler_id"] for e in elected][:2] == ["second", "first"]


def test_a_leader_that_stops_renewing_stops_acting_and_is_replaced_within_the_ttl(
    tmp_path: Path, coord_url: str
) -> None:
    lease = f"scheduler:leader:{uuid.uuid4().hex}"
    with harness(tmp_path, coord_url) as h:
        # Driven by hand: "first" is hung (or killed) simply by not ticking it any more.
        first = h.scheduler(scheduler_id="first", lease_name=lease, lease_ttl=TTL, lease_margin=0.2)
        second = h.scheduler(scheduler_id="second", lease_name=lease, lease_ttl=TTL, lease_margin=0.2)
        first.tick()
        second.tick()
        assert _leaders(first, second) == [first]
        epoch = first.leader_epoch
        assert epoch is not None
        # Without a renewal, "first" stops considering itself leader before the
        # lease could pass to anyone else.
        wait_until(lambda: not first.is_leader, WAIT, "hung leader stops acting")
        assert not second.is_leader

        def second_leads() -> bool:
            second.tick()
            return second.is_leader

        wait_until(second_leads, WAIT, "standby takes over after the TTL")
        assert second.leader_epoch == epoch + 1
        # The old leader wakes up: its renewal is refused and it stays a standby.
        first.tick()
        assert _leaders(first, second) == [second]


def test_only_the_leader_places(tmp_path: Path, coord_url: str) -> None:
    lease = f"scheduler:leader:{uuid.uuid4().hex}"
    with harness(tmp_path, coord_url) as h:
        node = h.node(f"n-{uuid.uuid4().hex[:8]}")
        node.beat()
        pid = f"p-{uuid.uuid4().hex[:8]}"
        h.deploy(pid)
        leader = h.scheduler(scheduler_id="leader", lease_name=lease, lease_ttl=5.0)
        standby = h.scheduler(scheduler_id="standby", lease_name=lease, lease_ttl=5.0)
        leader.tick()
        node.pump()
        for _ in range(3):
            standby.tick()
        assert not standby.is_leader
        assert len(node.commands) == 1 and node.commands[0].command == "portfolio.load"
