"""The fence watch (``node/fencewatch.py``): a prepared target whose leader
announced the load starts it when the fence names this node at that epoch, and
leaves every other case to the command."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from livecore.adapters.factory import open_store
from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.node.codegate import CodeGate
from livecore.node.commands import CommandFailed, ExpectedLoad
from livecore.node.fencewatch import FenceWatch
from livecore.node.interest import InterestMap
from livecore.node.prepared import Preparations
from livecore.ports.coordination import CoordinationError, Fence
from livecore.wire import names
from tests.unit.node.test_prepared import Factory
from tests.unit.scheduler.harness import FakeClock

FENCE = names.portfolio_epoch_key("p1")


class UnreadableFences(MemoryCoordination):
    down = False

    def get_fences(self, keys: Collection[str]) -> dict[str, Fence]:
        if self.down:
            raise CoordinationError("redis mget failed")
        return super().get_fences(keys)


class Rig:
    def __init__(self, preparations: Preparations, clock: FakeClock) -> None:
        self.prepared = preparations
        self.clock = clock
        self.coord = UnreadableFences()
        self.loads: list[tuple[str, int]] = []
        self.answers: list[tuple[str, str, str, str]] = []
        self.refuse: str | None = None
        self.watch = FenceWatch(
            node_id="n2", coord=self.coord, preparations=preparations, load=self.load, answer=self.answer
        )

    def load(self, portfolio_id: str, epoch: int) -> str:
        """As the node's load does: it takes the preparation, whatever the outcome."""
        self.loads.append((portfolio_id, epoch))
        self.prepared.take(portfolio_id)
        if self.refuse:
            raise CommandFailed(self.refuse)
        return f"{portfolio_id} loaded at epoch {epoch} (2 symbols, prepared)"

    def answer(self, nonce: str, command: str, portfolio_id: str, detail: str) -> None:
        self.answers.append((nonce, command, portfolio_id, detail))


@pytest.fixture
def rig() -> Iterator[Rig]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / f'{uuid.uuid4().hex}.db'}")
        try:
            store.registry.upsert("p1", "AAA,BBB", "running", 1)
            clock = FakeClock()
            gate = CodeGate(factory=Factory(), audit=lambda *args: None)  # type: ignore[arg-type]
            preparations = Preparations(
                registry=store.registry, code_gate=gate, interest=InterestMap(), market_changed=lambda: None,
                clock=clock,
            )  # fmt: skip
            yield Rig(preparations, clock)
        finally:
            store.close()


def test_the_fence_naming_this_node_at_the_announced_epoch_starts_the_load(rig: Rig) -> None:
    rig.prepared.prepare("p1", 20.0, ExpectedLoad(2, "nonce-1"))
    assert rig.watch.watching()
    assert rig.watch.check() == []  # no fence yet
    rig.coord.advance_fence(FENCE, 1, "n1")
    assert rig.watch.check() == []  # the source's epoch
    assert rig.coord.advance_fence(FENCE, 2, "n2")
    assert rig.watch.check() == ["p1"]
    assert rig.loads == [("p1", 2)] and rig.watch.loaded == 1
    assert rig.answers == [("nonce-1", "portfolio.load", "p1", "p1 loaded at epoch 2 (2 symbols, prepared)")]
    assert not rig.watch.watching() and rig.watch.check() == []  # the load took the preparation


@pytest.mark.parametrize(("epoch", "owner"), [(2, "n3"), (3, "n2"), (3, "n3")])
def test_a_fence_at_another_epoch_or_owner_is_left_to_the_command(rig: Rig, epoch: int, owner: str) -> None:
    rig.prepared.prepare("p1", 20.0, ExpectedLoad(2, "nonce-1"))
    rig.coord.advance_fence(FENCE, epoch, owner)
    assert rig.watch.check() == [] and rig.loads == [] and rig.answers == []
    assert rig.watch.watching()  # until the command or the hold's end takes the preparation


def test_a_preparation_without_an_announced_load_is_not_watched(rig: Rig) -> None:
    rig.prepared.prepare("p1", 20.0)
    rig.coord.advance_fence(FENCE, 2, "n2")
    assert not rig.watch.watching() and rig.watch.check() == [] and rig.loads == []


def test_a_hold_that_ran_out_is_not_watched(rig: Rig) -> None:
    rig.prepared.prepare("p1", 2.0, ExpectedLoad(2, "nonce-1"))
    rig.coord.advance_fence(FENCE, 2, "n2")
    rig.clock.advance(2.5)
    assert not rig.watch.watching() and rig.watch.check() == [] and rig.loads == []


def test_a_failed_load_is_not_answered(rig: Rig) -> None:
    """The command comes anyway: it tries the load again and answers it."""
    rig.prepared.prepare("p1", 20.0, ExpectedLoad(2, "nonce-1"))
    rig.coord.advance_fence(FENCE, 2, "n2")
    rig.refuse = "market-data consumer is not reading the portfolio's partitions yet; retry"
    assert rig.watch.check() == [] and rig.loads == [("p1", 2)] and rig.answers == []
    assert rig.watch.loaded == 0 and not rig.watch.watching()


def test_unreadable_fences_load_nothing(rig: Rig) -> None:
    rig.prepared.prepare("p1", 20.0, ExpectedLoad(2, "nonce-1"))
    rig.coord.advance_fence(FENCE, 2, "n2")
    rig.coord.down = True
    assert rig.watch.check() == [] and rig.loads == []
    rig.coord.down = False
    assert rig.watch.check() == ["p1"]
