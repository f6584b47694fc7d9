"""The leader's steps of a planned migration (``scheduler/migration.py``): the
hand-over's round trips and its refusals."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.control.commands import Command
from livecore.control.requests import read_result
from livecore.ports.store import RegistryEntry, Store
from livecore.scheduler.service import Scheduler
from livecore.wire import codec, names
from livecore.wire.messages import CommandAck
from tests.unit.scheduler.fakes import FakeNode
from tests.unit.scheduler.harness import Harness, harness, loads


class CountingCoordination(MemoryCoordination):
    """Counts single-fence reads (a pass reads them all at once with ``get_fences``)."""

    fence_reads = 0

    def get_fence(self, key: str) -> Any:
        self.fence_reads += 1
        return super().get_fence(key)


class CountingRegistry:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.gets = 0

    def get(self, portfolio_id: str) -> RegistryEntry | None:
        self.gets += 1
        entry: RegistryEntry | None = self._inner.get(portfolio_id)
        return entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingStore:
    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.registry = CountingRegistry(inner.registry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def on_a_then_b(h: Harness, *pids: str, **overrides: object) -> tuple[FakeNode, FakeNode, Scheduler]:
    """``pids`` placed on node a (the only one then), then node b up: a migration's
    source and target, under a scheduler without rebalancing (``overrides``: its config)."""
    a, b = h.node("a"), h.node("b")
    a.beat()
    for pid in pids:
        h.deploy(pid)
    sched = h.scheduler(rebalance_moves=0, **overrides)
    h.settle(sched)
    b.beat()
    return a, b, sched


def test_the_hand_over_reads_neither_the_registry_nor_the_fence(tmp_path: Path) -> None:
    coord = CountingCoordination(f"memory://{uuid.uuid4().hex}")
    with harness(tmp_path, coord=coord) as h:
        a, b, sched = on_a_then_b(h, "p1")
        rid = h.request_migration("p1", "b")
        sched.tick()  # the migrate goes to the source
        a.pump()  # the source drains and acks
        counting = CountingStore(h.store)
        runner = sched._migrations  # the hand-over step alone, as the hand-over thread runs it
        runner._store = counting  # type: ignore[assignment]
        before = coord.fence_reads
        runner.poll(frozenset({"a", "b"}), {})
        assert (counting.registry.gets, coord.fence_reads - before) == (0, 0)
        assert h.fence("p1") == (2, "b")
        assert h.store.registry.get("p1").node_id == "b"  # type: ignore[union-attr]
        b.pump()
        sched.tick()
        result = read_result(h.coord, rid)
        assert result is not None and result.ok and result.epoch == 2, result


def test_a_fence_moved_past_the_validated_epoch_refuses_the_hand_over(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b, sched = on_a_then_b(h, "p1")
        rid = h.request_migration("p1", "b")
        sched.tick()
        a.pump()
        assert h.coord.advance_fence(names.portfolio_epoch_key("p1"), 2, "c")  # someone else moved it
        sched._migrations.poll(frozenset({"a", "b"}), {})  # the hand-over step alone
        result = read_result(h.coord, rid)
        assert result is not None and not result.ok and "fence moved past epoch 1" in result.detail, result
        assert h.fence("p1") == (2, "c")  # never overwritten
        b.pump()
        assert loads(b) == []


def test_the_acks_of_every_migration_in_flight_are_read_in_one_round_trip(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b, sched = on_a_then_b(h, "p1", "p2", "p3")
        rids = [h.request_migration(pid, "b") for pid in ("p1", "p2", "p3")]
        sched.tick()
        a.pump()
        reads: list[int] = []
        coord_get_many = h.coord.get_many
        h.coord.get_many = lambda keys: reads.append(len(keys)) or coord_get_many(keys)  # type: ignore[method-assign]
        h.coord.get = lambda key: (_ for _ in ()).throw(AssertionError(f"single read of {key}"))  # type: ignore[method-assign]
        sched._migrations.poll(frozenset({"a", "b"}), {})
        assert reads == [3]
        assert [m.phase for m in sched._migrations.progress()] == ["loading"] * 3
        b.pump()
        assert sorted(loads(b)) == [("p1", 2), ("p2", 2), ("p3", 2)]
        del h.coord.get, h.coord.get_many  # type: ignore[attr-defined]
        b.beat()
        sched.tick()
        assert all((r := read_result(h.coord, rid)) is not None and r.ok for rid in rids)


def prepares(node: FakeNode) -> list[float]:
    return [float(c.params["hold_s"]) for c in node.commands if c.command == Command.PREPARE]


def test_the_target_is_prepared_when_the_migration_begins_and_the_load_takes_it(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b, sched = on_a_then_b(h, "p1", ack_timeout=4.0)
        rid = h.request_migration("p1", "b")
        sched.tick()
        b.pump()
        assert b.prepared == {"p1": 8.0} and b.loaded == {}  # held 2 * ack_timeout; nothing runs
        assert h.fence("p1") == (1, "a")
        a.pump()
        sched.tick()
        b.pump()
        sched.tick()
        result = read_result(h.coord, rid)
        assert result is not None and result.ok, result
        assert b.loaded == {"p1": 2} and b.prepared == {} and prepares(b) == [8.0]


def test_the_prepare_announces_the_load_and_an_ack_under_its_nonce_ends_the_migration(tmp_path: Path) -> None:
    """The target's fence watch loads when the fence names it and acks under the
    announced nonce: the leader finishes on that ack, before the load crosses the bus."""
    with harness(tmp_path) as h:
        a, b, sched = on_a_then_b(h, "p1")
        rid = h.request_migration("p1", "b")
        sched.tick()
        b.pump()
        (prepare,) = [c for c in b.commands if c.command == Command.PREPARE]
        assert prepare.params["epoch"] == 2 and len(prepare.params["load_nonce"]) == 24
        a.pump()
        sched.tick()  # the source's ack: the fence names b at epoch 2, the load goes out
        assert h.fence("p1") == (2, "b")
        early = CommandAck(
            nonce=prepare.params["load_nonce"], node_id="b", command=Command.LOAD, portfolio_id="p1", ok=True,
            detail="p1 loaded at epoch 2 (1 symbols, prepared)",
        )  # fmt: skip
        h.coord.set(names.command_ack_key(early.nonce), codec.encode(early).decode())
        sched.tick()
        result = read_result(h.coord, rid)
        assert result is not None and result.ok and result.epoch == 2, result
        b.pump()  # the load itself, with the nonce announced
        (load,) = [c for c in b.commands if c.command == Command.LOAD]
        assert load.nonce == early.nonce and load.params == {"epoch": 2}


def test_a_migration_that_fails_before_the_load_drops_the_preparation(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b, sched = on_a_then_b(h, "p1")
        rid = h.request_migration("p1", "b")
        sched.tick()
        b.pump()
        assert b.prepared == {"p1": 20.0}
        a.loaded.clear()  # the source answers "not loaded": a refusal of the migrate
        a.pump()
        sched.tick()
        result = read_result(h.coord, rid)
        assert result is not None and not result.ok and "refused" in result.detail, result
        b.pump()
        assert b.prepared == {} and prepares(b) == [20.0, 0.0] and loads(b) == []


def test_no_prepare_when_targets_are_not_prepared(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b, sched = on_a_then_b(h, "p1", prepare_targets=False)
        rid = h.request_migration("p1", "b")
        sched.tick()
        assert b.pump() == 0
        a.pump()
        sched.tick()
        b.pump()
        sched.tick()
        result = read_result(h.coord, rid)
        assert result is not None and result.ok and prepares(b) == [], result
