"""The convergence diff: placement, resends, unloads, stale copies, clears."""

from __future__ import annotations

from livecore.control.commands import Command
from livecore.ports.coordination import Fence
from livecore.ports.store import DesiredState, RegistryEntry
from livecore.scheduler.convergence import (
    ClearPlacement,
    Load,
    Place,
    Sent,
    StaleCopy,
    Unload,
    diff,
)


def entry(pid: str, node: str | None, epoch: int, desired: DesiredState = "running") -> RegistryEntry:
    return RegistryEntry(pid, "toml", desired, node, epoch, 0)


def test_new_portfolio_is_placed() -> None:
    plan = diff([entry("p1", None, 0)], {}, frozenset({"a"}), {}, {}, now=0.0, resend_after=5)
    assert plan.place == [Place("p1", "new")]


def test_loaded_at_the_placed_epoch_needs_nothing() -> None:
    plan = diff([entry("p1", "a", 3)], {"p1": {"a": 3}}, frozenset({"a"}), {"p1": Fence(3, "a")}, {}, 0.0, 5)
    assert plan.loaded == {"p1"}
    assert not (plan.place or plan.load or plan.unload or plan.stale or plan.clear)


def test_dead_node_means_failover() -> None:
    plan = diff([entry("p1", "a", 3)], {}, frozenset({"b"}), {"p1": Fence(3, "a")}, {}, 0.0, 5)
    assert plan.place == [Place("p1", "failover", lost_node="a")]


def test_load_is_resent_only_after_the_timeout() -> None:
    entries = [entry("p1", "a", 3)]
    fences = {"p1": Fence(3, "a")}
    recent = {("p1", "a"): Sent(Command.LOAD, "a", 3, at=10.0)}
    waiting = diff(entries, {}, frozenset({"a"}), fences, recent, now=12.0, resend_after=5)
    assert waiting.load == [] and waiting.waiting == {"p1"}
    due = diff(entries, {}, frozenset({"a"}), fences, recent, now=15.5, resend_after=5)
    assert due.load == [Load("p1", "a", 3)]
    never_sent = diff(entries, {}, frozenset({"a"}), fences, {}, now=0.0, resend_after=5)
    assert never_sent.load == [Load("p1", "a", 3)]


def test_lower_epoch_on_the_placed_node_gets_the_current_epoch() -> None:
    plan = diff([entry("p1", "a", 4)], {"p1": {"a": 3}}, frozenset({"a"}), {"p1": Fence(4, "a")}, {}, 0.0, 5)
    assert plan.load == [Load("p1", "a", 4)]


def test_stale_copy_elsewhere_is_reported_never_unloaded() -> None:
    plan = diff(
        [entry("p1", "b", 4)],
        {"p1": {"a": 3, "b": 4}},
        frozenset({"a", "b"}),
        {"p1": Fence(4, "b")},
        {},
        0.0,
        5,
    )
    assert plan.stale == [StaleCopy("p1", "a", 3)]
    assert plan.unload == []
    assert plan.loaded == {"p1"}


def test_stopped_portfolio_is_unloaded_from_its_owner_then_unplaced() -> None:
    fences = {"p1": Fence(3, "a")}
    running = diff([entry("p1", "a", 3, "stopped")], {"p1": {"a": 3}}, frozenset({"a"}), fences, {}, 0.0, 5)
    assert running.unload == [Unload("p1", "a", 3, "stopped")]
    again = diff(
        [entry("p1", "a", 3, "stopped")],
        {"p1": {"a": 3}},
        frozenset({"a"}),
        fences,
        {("p1", "a"): Sent(Command.UNLOAD, "a", 3, at=0.0)},
        1.0,
        5,
    )
    assert again.unload == []
    gone = diff([entry("p1", "a", 3, "stopped")], {}, frozenset({"a"}), fences, {}, 0.0, 5)
    assert gone.clear == [ClearPlacement("p1", 3)]
    already = diff([entry("p1", None, 3, "stopped")], {}, frozenset({"a"}), fences, {}, 0.0, 5)
    assert already.clear == [] and already.place == []


def test_removed_portfolio_is_unloaded_only_from_the_fence_owner() -> None:
    plan = diff([], {"p9": {"a": 2, "b": 1}}, frozenset({"a", "b"}), {"p9": Fence(2, "a")}, {}, 0.0, 5)
    assert plan.unload == [Unload("p9", "a", 2, "removed")]
    assert plan.stale == [StaleCopy("p9", "b", 1)]


def test_fence_lost_or_moved_means_a_new_placement() -> None:
    lost = diff([entry("p1", "a", 3)], {"p1": {"a": 3}}, frozenset({"a"}), {}, {}, 0.0, 5)
    assert lost.place == [Place("p1", "fence_lost", prefer="a")]
    moved = diff([entry("p1", "a", 3)], {}, frozenset({"a", "b"}), {"p1": Fence(4, "b")}, {}, 0.0, 5)
    assert moved.place == [Place("p1", "fence_moved", prefer="b")]


def test_busy_portfolios_are_left_alone() -> None:
    plan = diff(
        [entry("p1", "a", 3)],
        {"p1": {"b": 1}},
        frozenset({"b"}),
        {"p1": Fence(3, "a")},
        {},
        0.0,
        5,
        busy=frozenset({"p1"}),
    )
    assert not (plan.place or plan.load or plan.unload or plan.stale or plan.clear)
