"""Carries out a convergence plan: new epochs, loads, unloads, cleared placements.

Every placement follows the same order, which is what makes ownership safe:
new epoch = max(registry epoch, fence epoch) + 1, fence advanced to (epoch,
node) first (refused if someone advanced it meanwhile), then the registry,
then the signed ``portfolio.load``. The placements of one pass (a failed
node's portfolios, say) take each step together: every fence, then one
registry write, then every load with one wait for the broker, then the audit
entries and notices, which no load waits for. A portfolio that lost its node while no
other node can take it has its fence advanced to an ownerless epoch, so that
the lost node (if it was only cut off) stops trading it at its next fence
check, and waits visibly in ``pending``. Every failover is audited with why its
node counts as dead (``reason``: ``control.cluster.NodeLoss``) and told to the
operator (``livecore.notify``, a non-blocking put).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from livecore.control.cluster import NodeLoss
from livecore.control.commands import Command, CommandChannel, Outgoing
from livecore.control.events import AuditEvent
from livecore.control.requests import NO_CAPACITY, NO_LIVE_NODE
from livecore.notify import NO_NOTICES, NoticeSink, failover_notice
from livecore.ports.coordination import Coordination, Fence
from livecore.ports.store import RegistryEntry, Store
from livecore.scheduler.convergence import Place, Plan, Sent
from livecore.scheduler.placement import Candidate, batch_order, choose_node, plan_placements
from livecore.scheduler.specs import SymbolIndex
from livecore.wire import names

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Ledger:
    """The leader's memory between ticks (rebuilt from scratch by a new leader)."""

    sent: dict[tuple[str, str], Sent] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)  # nonces whose refusal was recorded
    # the last refusal audited per (portfolio, node): a load re-sent every load_timeout
    # and refused for the same reason (e.g. code_mismatch) is audited once, not each time
    refusals: dict[tuple[str, str], str] = field(default_factory=dict)
    stale_seen: set[tuple[str, str, int]] = field(default_factory=set)

    def clear(self) -> None:
        self.sent.clear()
        self.pending.clear()
        self.refused.clear()
        self.refusals.clear()
        self.stale_seen.clear()

    def forget_confirmed(self, reported: Mapping[str, Mapping[str, int]], now: float, horizon: float) -> None:
        """Drop sends that the nodes' metrics confirm, or too old to matter."""
        for key, sent in list(self.sent.items()):
            pid, node = key
            there = reported.get(pid, {}).get(node)
            done = there == sent.epoch if sent.command == Command.LOAD else there is None
            if done or now - sent.at > horizon:
                del self.sent[key]


@dataclass(frozen=True, slots=True)
class Grant:
    """A new epoch whose fence is advanced; the registry and the load follow."""

    place: Place
    target: str
    epoch: int
    loss: NodeLoss

    @property
    def portfolio_id(self) -> str:
        return self.place.portfolio_id


class Actuator:
    """Applies plans for the leader. ``acting`` is checked before every write, so a
    scheduler that lost its lease mid-tick stops at once."""

    def __init__(
        self,
        coord: Coordination,
        store: Store,
        channel: CommandChannel,
        symbols: SymbolIndex,
        ledger: Ledger,
        affinity_slack: int,
        max_commands: int,
        acting: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
        *,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        self._coord = coord
        self._notices = notices
        self._store = store
        self._channel = channel
        self._symbols = symbols
        self._ledger = ledger
        self._slack = affinity_slack
        self._max_commands = max_commands
        self._acting = acting
        self._clock = clock
        self._wall_ns = wall_ns
        self.placements = 0  # new epochs granted to a node (new, failover, fence repair)
        self.failovers = 0  # portfolios taken from a dead node (placed again or fenced ownerless)

    def apply(
        self,
        plan: Plan,
        entries: Mapping[str, RegistryEntry],
        fences: Mapping[str, Fence],
        candidates: dict[str, Candidate],
        any_alive: bool,
        losses: Mapping[str, NodeLoss] | None = None,
    ) -> None:
        """``losses``: why each dead node counts as dead (a node not in it: its heartbeat expired)."""
        ledger = self._ledger
        budget = self._max_commands
        for pid in plan.loaded:
            ledger.pending.pop(pid, None)
            for refused in [k for k in ledger.refusals if k[0] == pid]:
                del ledger.refusals[refused]
        for unload in plan.unload[:budget]:
            if not self._acting():
                return
            self._send(Command.UNLOAD, unload.portfolio_id, unload.node_id, unload.epoch, {})
        budget -= min(budget, len(plan.unload))
        for load in plan.load[:budget]:
            if not self._acting():
                return
            self._send(Command.LOAD, load.portfolio_id, load.node_id, load.epoch, {"epoch": load.epoch})
        budget -= min(budget, len(plan.load))
        for clear in plan.clear:
            if not self._acting():
                return
            self._store.registry.set_placement(clear.portfolio_id, None, clear.epoch, self._wall_ns())
            ledger.pending.pop(clear.portfolio_id, None)
        for stale in plan.stale:
            key = (stale.portfolio_id, stale.node_id, stale.epoch)
            if key not in ledger.stale_seen:
                ledger.stale_seen.add(key)
                self._audit(
                    AuditEvent.STALE_COPY,
                    {"portfolio_id": stale.portfolio_id, "node_id": stale.node_id, "epoch": stale.epoch},
                )
        planned = self._plan(plan.place, budget, entries, candidates)
        self._place_all(planned, entries, fences, candidates, any_alive, losses or {})

    def check_refusals(self) -> None:
        """Loads a node refused (bad spec, full, code_mismatch): shown in status; audited
        once per reason (the load is re-sent every ``load_timeout`` meanwhile)."""
        for (pid, node), sent in list(self._ledger.sent.items()):
            if sent.command != Command.LOAD or not sent.nonce or sent.nonce in self._ledger.refused:
                continue
            ack = self._channel.ack(sent.nonce)
            if ack is not None and not ack.ok:
                self._ledger.refused.add(sent.nonce)
                self._ledger.pending[pid] = f"load refused by {node}: {ack.detail}"
                if self._ledger.refusals.get((pid, node)) == ack.detail:
                    continue
                self._ledger.refusals[(pid, node)] = ack.detail
                self._audit(
                    AuditEvent.LOAD_REFUSED,
                    {"portfolio_id": pid, "node_id": node, "epoch": sent.epoch, "detail": ack.detail},
                )

    def record_load(self, pid: str, node: str, epoch: int, nonce: str, at: float) -> None:
        """A load sent by a migration's hand-over (``at``: when, on this clock)."""
        self._ledger.sent[(pid, node)] = Sent(Command.LOAD, node, epoch, at, nonce)

    def _send(self, command: str, pid: str, node: str, epoch: int, params: dict[str, int]) -> None:
        signed = self._channel.send(command, node, pid, params)
        self._ledger.sent[(pid, node)] = Sent(command, node, epoch, self._clock(), signed.nonce)

    def _place_all(
        self,
        places: list[tuple[Place, str | None]],
        entries: Mapping[str, RegistryEntry],
        fences: Mapping[str, Fence],
        candidates: dict[str, Candidate],
        any_alive: bool,
        losses: Mapping[str, NodeLoss],
    ) -> None:
        grants = []
        for place, planned in places:
            if not self._acting():
                return
            pid = place.portfolio_id
            grant = self._grant(place, entries[pid], fences.get(pid), candidates, any_alive, losses, planned)
            if grant is not None:
                grants.append(grant)
        if not grants or not self._acting():
            return
        self._store.registry.set_placements([(g.portfolio_id, g.target, g.epoch) for g in grants], self._wall_ns())
        if not self._acting():
            return
        loads = [Outgoing(Command.LOAD, g.target, g.portfolio_id, {"epoch": g.epoch}) for g in grants]
        signed = self._channel.send_many(loads)
        now = self._clock()
        for grant, command in zip(grants, signed, strict=True):
            self._ledger.sent[(grant.portfolio_id, grant.target)] = Sent(
                Command.LOAD, grant.target, grant.epoch, now, command.nonce
            )
            self._ledger.pending.pop(grant.portfolio_id, None)
            self.placements += 1
        for grant in grants:
            pid, place = grant.portfolio_id, grant.place
            if place.lost_node is not None:
                self._audit_failover(pid, place.lost_node, grant.target, grant.epoch, grant.loss)
            log.info("placed %s on %s at epoch %d (%s)", pid, grant.target, grant.epoch, place.reason)

    def _plan(
        self,
        places: list[Place],
        budget: int,
        entries: Mapping[str, RegistryEntry],
        candidates: Mapping[str, Candidate],
    ) -> list[tuple[Place, str | None]]:
        """This pass's placements, at most ``budget``, in the order to carry them out:
        those that keep their preferred node first, then the first of the others in
        ``placement.batch_order`` (the portfolios of one partition together), planned
        as one batch against the mean of every waiting placement."""
        by_id = {place.portfolio_id: place for place in places}
        partitions = {pid: self._symbols.partitions(entries[pid].spec_toml) for pid in by_id}
        nodes = dict(candidates)
        kept: list[tuple[Place, str | None]] = []
        others: list[str] = []
        for pid in batch_order(by_id, partitions):
            preferred = _preferred(by_id[pid].prefer, pid, nodes)
            if preferred is None:
                others.append(pid)
            elif len(kept) < budget:
                kept.append((by_id[pid], preferred))
                spec = entries[pid].spec_toml
                nodes[preferred] = nodes[preferred].with_portfolio(pid, self._symbols.of(spec), partitions[pid])
        batch = {pid: self._symbols.of(entries[pid].spec_toml) for pid in others[: budget - len(kept)]}
        planned = plan_placements(batch, nodes.values(), self._slack, partitions, pending=len(others))
        return kept + [(by_id[pid], node) for pid, node in planned]

    def _grant(
        self,
        place: Place,
        entry: RegistryEntry,
        fence: Fence | None,
        candidates: dict[str, Candidate],
        any_alive: bool,
        losses: Mapping[str, NodeLoss],
        planned: str | None = None,
    ) -> Grant | None:
        """Choose the node (its preferred one, else the planned one while it takes
        more, else the placement function's) and advance the fence; None when the
        portfolio waits (no node: fenced ownerless if it lost its node; or the fence
        moved meanwhile)."""
        pid = place.portfolio_id
        loss = losses.get(place.lost_node or "", NodeLoss.HEARTBEAT_EXPIRED)
        symbols, partitions = self._symbols.of(entry.spec_toml), self._symbols.partitions(entry.spec_toml)
        target = _preferred(place.prefer, pid, candidates)
        if target is None:
            fits = planned is not None and _takes(candidates.get(planned))
            target = planned if fits else choose_node(symbols, candidates.values(), self._slack, partitions=partitions)
        epoch = max(entry.epoch, fence.epoch if fence else 0) + 1
        key = names.portfolio_epoch_key(pid)
        if target is None:
            self._ledger.pending[pid] = NO_CAPACITY if any_alive else NO_LIVE_NODE
            if place.lost_node is not None:
                self._coord.advance_fence(key, epoch, "")
                self._store.registry.set_placement(pid, None, entry.epoch, self._wall_ns())
                self._audit_failover(pid, place.lost_node, None, epoch, loss)
            return None
        if not self._coord.advance_fence(key, epoch, target):
            self._ledger.pending[pid] = "ownership fence moved; retrying"
            return None
        candidates[target] = candidates[target].with_portfolio(pid, symbols, partitions)
        return Grant(place, target, epoch, loss)

    def _audit_failover(self, pid: str, lost: str, target: str | None, epoch: int, loss: NodeLoss) -> None:
        self.failovers += 1
        log.warning(
            "failover of %s from dead node %s (%s) to %s (epoch %d)", pid, lost, loss, target or "nowhere yet", epoch
        )
        self._audit(
            AuditEvent.FAILOVER, {"portfolio_id": pid, "from": lost, "to": target, "epoch": epoch, "reason": str(loss)}
        )
        self._notices.notify(failover_notice(pid, lost, target, epoch))

    def _audit(self, event: str, detail: dict[str, object]) -> None:
        self._store.audit.record("scheduler", event, detail, self._wall_ns())


def _takes(node: Candidate | None) -> bool:
    return node is not None and node.alive and node.accepting and node.has_room


def _preferred(prefer: str | None, pid: str, candidates: Mapping[str, Candidate]) -> str | None:
    node = candidates.get(prefer) if prefer else None
    if node is None or not (node.alive and node.accepting):
        return None
    return node.node_id if pid in node.portfolios or node.has_room else None


def build_candidates(
    nodes: Mapping[str, tuple[int, bool]],
    reported: Mapping[str, Mapping[str, int]],
    entries: Mapping[str, RegistryEntry],
    moving: Mapping[str, tuple[str, str]],
    symbols: SymbolIndex,
) -> dict[str, Candidate]:
    """Placement's view of live nodes ({id: (capacity, accepting)}): a node holds
    what it reports plus what is placed on it, with migrations counted at their
    target only."""
    held: dict[str, set[str]] = {nid: set() for nid in nodes}
    for pid, copies in reported.items():
        for nid in copies:
            if nid in held:
                held[nid].add(pid)
    for pid, entry in entries.items():
        if entry.desired == "running" and entry.node_id in held:
            held[entry.node_id].add(pid)
    for pid, (source, target) in moving.items():
        if source in held:
            held[source].discard(pid)
        if target in held:
            held[target].add(pid)
    out = {}
    for nid, (capacity, accepting) in nodes.items():
        pids = frozenset(held[nid])
        specs = [entries[p].spec_toml for p in pids if p in entries]
        out[nid] = Candidate(
            nid,
            capacity,
            pids,
            symbols.union(specs),
            alive=True,
            accepting=accepting,
            partitions=symbols.partitions_union(specs),
        )
    return out
