"""Migration acks acted on as they arrive (``scheduler/handover.py``), never racing the pass."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from livecore.control.requests import MigrationRequest, read_result
from livecore.ports.store import RegistryEntry, Store
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.migration import MigrationRunner
from livecore.scheduler.service import Scheduler
from livecore.scheduler.specs import SymbolIndex
from livecore.wire import names
from tests.servers import wait_until
from tests.unit.scheduler.harness import harness, loads, toml_symbols

WAIT = 10.0


class HeldRegistry:
    """The registry, with a gate: once armed, the next ``list()`` reads the registry,
    then waits for ``release`` before it answers: a pass stalled right after its
    registry read, holding what it read."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def list(self) -> list[RegistryEntry]:
        entries: list[RegistryEntry] = self._inner.list()
        if self.armed:
            self.armed = False
            self.entered.set()
            self.release.wait(WAIT)
        return entries

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class HeldStore:
    """The store, its registry held (see ``HeldRegistry``)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.registry = HeldRegistry(inner.registry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_an_ack_arriving_mid_pass_is_handed_over_at_once_and_the_pass_leaves_it_alone(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        a.beat()
        h.deploy("p1")
        store = HeldStore(h.store)
        config = SchedulerConfig(tick_interval=0.05, lease_ttl=2.0, lease_margin=0.2, rebalance_moves=0)
        sched = Scheduler(config, h.coord, store, h.channel(), SymbolIndex(toml_symbols))  # type: ignore[arg-type]
        h.schedulers.append(sched)
        h.settle(sched)
        b.beat()
        rid = h.request_migration("p1", "b")
        sched.tick()  # takes the request: migrate goes to the source
        store.registry.armed = True
        sched.start()
        assert store.registry.entered.wait(WAIT), "no pass read the registry"
        # A pass is stalled after its registry read (p1 on "a" at epoch 1 there). The
        # source acks now: the hand-over must not wait for that pass to end.
        assert a.pump() == 1 and a.loaded == {}

        def target_loaded() -> bool:  # the prepare came with the migrate, the load follows the ack
            b.pump()
            return b.loaded == {"p1": 2}

        wait_until(target_loaded, WAIT, "the load on the target during the pass")
        wait_until(lambda: read_result(h.coord, rid) is not None, WAIT, "the migration's result during the pass")
        assert store.registry.entered.is_set() and not store.registry.release.is_set()
        result = read_result(h.coord, rid)
        assert result is not None and result.ok and (result.target, result.epoch) == ("b", 2), result
        # The stalled pass goes on with its old registry read: p1 was migrating when it
        # began, so it must leave p1 alone (no "fence moved" re-placement at epoch 3).
        store.registry.release.set()
        placed = sched.placements
        for _ in range(5):
            a.beat()
            b.beat()
            stamp = h.coord.get(names.SCHEDULER_STATUS_KEY)
            wait_until(lambda s=stamp: h.coord.get(names.SCHEDULER_STATUS_KEY) != s, WAIT, "the next pass")
        sched.stop()
        b.pump()
        assert sched.placements == placed
        assert h.fence("p1") == (2, "b")
        entry = h.store.registry.get("p1")
        assert entry is not None and (entry.node_id, entry.epoch) == ("b", 2)
        assert loads(b) == [("p1", 2)] and b.loaded == {"p1": 2}
        assert loads(a) == [("p1", 1)]
        assert len(h.store.audit.recent(event="migration")) == 1


def test_the_runner_acts_only_while_leading(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        for node in (a, b):
            node.beat()
        h.deploy("p1")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        leading = threading.Event()
        runner = MigrationRunner(h.channel(), h.coord, h.store, ack_timeout=5.0, acting=leading.is_set)
        source = h.store.registry.get("p1")
        assert source is not None and source.node_id is not None
        target = "b" if source.node_id == "a" else "a"
        request_ = MigrationRequest(request_id=uuid.uuid4().hex, portfolio_id="p1", to=target, requested_ns=1)
        runner.begin(request_, source.node_id, source.epoch, target)
        h.nodes[source.node_id].pump()  # the source acks
        assert runner.poll(frozenset("ab"), {}) == [] and runner.take_sent() == []
        assert h.fence("p1") == (1, source.node_id)
        leading.set()
        assert runner.poll(frozenset("ab"), {}) == []  # handed over, loading
        sent = runner.take_sent()
        assert [(s.portfolio_id, s.node_id, s.epoch) for s in sent] == [("p1", target, 2)]
        assert h.fence("p1") == (2, target)
        h.nodes[target].pump()
        (result,) = runner.poll(frozenset("ab"), {})
        assert result.ok and result.epoch == 2 and len(runner) == 0
