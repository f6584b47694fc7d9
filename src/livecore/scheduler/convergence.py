"""Desired placement (registry) against what live nodes report: a pure diff.

The result says what to do, never how; the service carries it out. Rules:

- a running portfolio whose placement node is gone (no placement, dead node)
  is placed anew (new epoch); if its fence no longer matches the placement
  (lost fence after a coordination restart, a registry write that failed after
  the fence moved), it is placed anew too, preferring the node it is on;
- a running portfolio whose live node does not report it at the placed epoch
  gets its ``portfolio.load`` again once the previous one is older than
  ``resend_after`` (nodes treat a repeat as a no-op);
- a copy whose node is the fence owner at that epoch but that should not run
  (stopped, removed from the registry) is unloaded;
- a copy whose epoch is stale by its fence is NOT unloaded: its node drops it
  by itself at its next fence check without writing a snapshot; unloading it
  would have it persist a stale snapshot over the new owner's. It is reported;
- a stopped portfolio nobody runs any more loses its placement, so that a
  later start gets a new epoch;
- portfolios in ``busy`` (being migrated) are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from livecore.control.commands import Command
from livecore.ports.coordination import Fence
from livecore.ports.store import RegistryEntry

__all__ = ["ClearPlacement", "Load", "Place", "Plan", "Sent", "StaleCopy", "Unload", "diff"]


@dataclass(frozen=True, slots=True)
class Sent:
    """A command sent to a node that its metrics do not confirm yet."""

    command: str
    node_id: str
    epoch: int
    at: float  # monotonic seconds
    nonce: str = ""


@dataclass(frozen=True, slots=True)
class Place:
    """Give ``portfolio_id`` a new epoch on a node chosen by placement.
    ``reason``: new, unplaced, failover, fence_lost, fence_moved."""

    portfolio_id: str
    reason: str
    lost_node: str | None = None
    prefer: str | None = None


@dataclass(frozen=True, slots=True)
class Load:
    portfolio_id: str
    node_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Unload:
    portfolio_id: str
    node_id: str
    epoch: int
    reason: str  # stopped | removed


@dataclass(frozen=True, slots=True)
class StaleCopy:
    portfolio_id: str
    node_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class ClearPlacement:
    portfolio_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Plan:
    place: list[Place] = field(default_factory=list)
    load: list[Load] = field(default_factory=list)
    unload: list[Unload] = field(default_factory=list)
    clear: list[ClearPlacement] = field(default_factory=list)
    stale: list[StaleCopy] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)


def _recent(sent: Sent | None, command: str, epoch: int, now: float, resend_after: float) -> bool:
    return sent is not None and sent.command == command and sent.epoch == epoch and now - sent.at < resend_after


def _legit(fence: Fence | None, node_id: str, epoch: int) -> bool:
    """The copy on ``node_id`` at ``epoch`` is the one the fence grants."""
    return fence is not None and fence.owner == node_id and fence.epoch == epoch


def diff(
    entries: list[RegistryEntry],
    reported: Mapping[str, Mapping[str, int]],
    alive: frozenset[str],
    fences: Mapping[str, Fence],
    sent: Mapping[tuple[str, str], Sent],
    now: float,
    resend_after: float,
    busy: frozenset[str] = frozenset(),
) -> Plan:
    """``reported`` is {portfolio: {live node: epoch}}; ``sent`` is keyed by
    (portfolio, node); ``now`` is on the same clock as ``Sent.at``."""
    plan = Plan()
    registered = {e.portfolio_id: e for e in entries}
    for entry in entries:
        pid = entry.portfolio_id
        if pid in busy:
            continue
        copies = reported.get(pid, {})
        fence = fences.get(pid)
        if entry.desired == "running":
            _running(plan, entry, copies, alive, fence, sent, now, resend_after)
        else:
            _stopped(plan, entry, copies, fence, sent, now, resend_after)
    for pid in sorted(set(reported) - set(registered) - busy):
        for node_id, epoch in sorted(reported[pid].items()):
            _unload_or_stale(plan, pid, node_id, epoch, fences.get(pid), "removed", sent, now, resend_after)
    return plan


def _running(
    plan: Plan,
    entry: RegistryEntry,
    copies: Mapping[str, int],
    alive: frozenset[str],
    fence: Fence | None,
    sent: Mapping[tuple[str, str], Sent],
    now: float,
    resend_after: float,
) -> None:
    pid, node = entry.portfolio_id, entry.node_id
    for other, epoch in sorted(copies.items()):
        if other != node and not _legit(fence, other, epoch):
            plan.stale.append(StaleCopy(pid, other, epoch))
    if node is None:
        plan.place.append(Place(pid, "new" if entry.epoch == 0 else "unplaced"))
        return
    if node not in alive:
        plan.place.append(Place(pid, "failover", lost_node=node))
        return
    if fence is None:
        plan.place.append(Place(pid, "fence_lost", prefer=node))
        return
    if not _legit(fence, node, entry.epoch):
        plan.place.append(Place(pid, "fence_moved", prefer=fence.owner or None))
        return
    if copies.get(node) == entry.epoch:
        plan.loaded.add(pid)
    elif _recent(sent.get((pid, node)), Command.LOAD, entry.epoch, now, resend_after):
        plan.waiting.add(pid)
    else:
        plan.load.append(Load(pid, node, entry.epoch))
        plan.waiting.add(pid)


def _stopped(
    plan: Plan,
    entry: RegistryEntry,
    copies: Mapping[str, int],
    fence: Fence | None,
    sent: Mapping[tuple[str, str], Sent],
    now: float,
    resend_after: float,
) -> None:
    pid = entry.portfolio_id
    for node_id, epoch in sorted(copies.items()):
        _unload_or_stale(plan, pid, node_id, epoch, fence, "stopped", sent, now, resend_after)
    if copies or entry.node_id is None:
        return
    if _recent(sent.get((pid, entry.node_id)), Command.LOAD, entry.epoch, now, resend_after):
        return  # a load may still land there: clear once it surely has not
    plan.clear.append(ClearPlacement(pid, entry.epoch))


def _unload_or_stale(
    plan: Plan,
    pid: str,
    node_id: str,
    epoch: int,
    fence: Fence | None,
    reason: str,
    sent: Mapping[tuple[str, str], Sent],
    now: float,
    resend_after: float,
) -> None:
    if not _legit(fence, node_id, epoch):
        plan.stale.append(StaleCopy(pid, node_id, epoch))
    elif not _recent(sent.get((pid, node_id)), Command.UNLOAD, epoch, now, resend_after):
        plan.unload.append(Unload(pid, node_id, epoch, reason))
