"""The ``Scheduler`` service: one loop, one leader.

Every tick: renew (or try to take) the leader lease; as leader, observe the
nodes, advance migrations, diff the registry against what the nodes report
and carry out the plan, take operator migration requests, rebalance after a
node joined, and publish the leader's status; tell the operator about a node seen alive at
the previous pass that is no longer (``livecore.notify``). Beside the loop, the
hand-over thread (``scheduler/handover.py``) polls the acks of migrations in
flight every ``ack_poll`` seconds and acts on each at once, also in the middle
of a pass, so that a migration's trading gap depends neither on the tick nor
on how long a pass takes. Between ticks the sessions of the live nodes are
read every ``session_poll`` seconds, so that a pass starts as soon as a node's
process is gone (``scheduler/sessions.py``).

Collaborators are passed in; the service closes none of them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from livecore.control.cluster import Cluster, observe
from livecore.control.commands import CommandChannel
from livecore.control.events import AuditEvent
from livecore.control.requests import (
    RESULT_TTL,
    MigrationRequest,
    MigrationResult,
    SchedulerStatus,
    pending_requests,
    write_json,
)
from livecore.notify import NO_NOTICES, NoticeSink, node_lost_notice
from livecore.ports.coordination import Coordination, Fence
from livecore.ports.store import RegistryEntry, Store
from livecore.scheduler.actuator import Actuator, Ledger, build_candidates
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.convergence import Plan, diff
from livecore.scheduler.handover import Handover
from livecore.scheduler.leader import LeaderElector
from livecore.scheduler.membership import Membership
from livecore.scheduler.migration import MigrationRunner
from livecore.scheduler.migration_target import Refused, migration_target
from livecore.scheduler.placement import Candidate, plan_rebalance
from livecore.scheduler.sessions import SessionWatch
from livecore.scheduler.specs import SymbolIndex
from livecore.scheduler.stall import StallGuard
from livecore.telemetry.histogram import HistogramSnapshot
from livecore.wire import names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TickFigures:
    """What the leader's last pass saw (for its metrics)."""

    nodes_alive: int
    portfolios_placed: int  # desired running, with a node in the registry
    portfolios_pending: int  # waiting for a node, with a reason (status shows it)


class Scheduler:
    """Run with ``start()``/``stop()`` (own thread) or ``run(stop_event)``; ``tick()``
    does one pass (tests drive it directly)."""

    def __init__(
        self,
        config: SchedulerConfig,
        coord: Coordination,
        store: Store,
        channel: CommandChannel,
        symbols: SymbolIndex | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        self.config = config
        self._notices = notices
        self._coord = coord
        self._store = store
        self._clock = clock
        self._wall = wall
        self._symbols = symbols or SymbolIndex(market_partitions=config.market_partitions)
        self._elector = LeaderElector(
            coord, config.scheduler_id, config.lease_ttl, config.lease_margin, clock, config.lease_name
        )
        self._ledger = Ledger()
        self._actuator = Actuator(
            coord, store, channel, self._symbols, self._ledger, config.affinity_slack,
            config.max_commands_per_tick, self._elector.is_leader, clock, self._wall_ns, notices=notices,
        )  # fmt: skip
        self._migrations = MigrationRunner(
            channel,
            coord,
            store,
            config.ack_timeout,
            acting=self._elector.is_leader,
            clock=clock,
            wall_ns=self._wall_ns,
            prepare=config.prepare_targets,
        )
        self._handover = Handover(
            runner=self._migrations,
            acting=self._elector.is_leader,
            alive=lambda: frozenset(self._cluster.alive),
            finished=self._finish,
            poll_s=config.ack_poll,
            name=f"scheduler-handover-{config.scheduler_id}",
        )
        # the migrations in flight when this pass read the registry: left alone by the
        # whole pass, even if the hand-over thread ends one meanwhile
        self._pass_moving: dict[str, tuple[str, str]] = {}
        self._membership = Membership(
            audit=lambda event, detail: self._store.audit.record("scheduler", event, detail, self._wall_ns())
        )
        self._was_leader = False
        self._accepting_before: frozenset[str] | None = None
        self._rebalance_wanted = False
        self._cluster = Cluster({})
        self._figures: TickFigures | None = None
        self._stall = StallGuard(config.tick_interval, config.stall_threshold, config.stall_grace)
        self._sessions = SessionWatch(coord, config.session_poll, clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self._elector.is_leader()

    @property
    def stalls(self) -> int:
        """How many stalls of its own process this scheduler has noticed."""
        return self._stall.stalls

    @property
    def sessions_closed(self) -> int:
        """Node sessions this scheduler saw closed between passes (each started a pass)."""
        return self._sessions.closed_seen

    @property
    def leader_epoch(self) -> int | None:
        lease = self._elector.lease
        return None if lease is None else lease.epoch

    # --- figures (read by scheduler/telemetry.py) ---------------------------------

    @property
    def figures(self) -> TickFigures | None:
        """What the last pass as leader saw; None while standing by."""
        return self._figures

    @property
    def placements(self) -> int:
        return self._actuator.placements

    @property
    def failovers(self) -> int:
        return self._actuator.failovers

    @property
    def migrations_succeeded(self) -> int:
        return self._migrations.succeeded

    @property
    def migrations_failed(self) -> int:
        return self._migrations.failed

    def migration_gaps(self) -> HistogramSnapshot:
        """Trading gaps of the migrations this scheduler carried out, in seconds."""
        return self._migrations.gaps.snapshot()

    def start(self) -> None:
        """Run the loop in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name=f"scheduler-{self.config.scheduler_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and give the lease up (a standby takes over at its next tick)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:  # driven by tick(): give the lease up here
            self._was_leader = False
            self._step_down()
            self._elector.release()

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set (the hand-over thread beside); then release the lease."""
        self._handover.start(stop)
        try:
            while not stop.is_set():
                started = self._clock()
                try:
                    self.tick()
                except Exception:
                    log.exception("scheduler tick failed")
                self._between_ticks(stop, started + self.config.tick_interval)
        finally:
            self._handover.join()
            self._was_leader = False
            self._step_down()
            self._elector.release()

    def _between_ticks(self, stop: threading.Event, deadline: float) -> None:
        """Wait for the next pass; poll node sessions meanwhile. A node whose session
        closed ends the wait at once."""
        while not stop.is_set():
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            wait = remaining
            if self._elector.is_leader():
                try:
                    if self._sessions.closed():
                        return
                except Exception:
                    log.exception("session check failed")
                wait = min(wait, self._sessions.wait_hint(self._clock()))
            stop.wait(wait)

    # --- one pass --------------------------------------------------------------

    def tick(self) -> None:
        if not self._elector.tick():
            self._step_down()
            return
        if not self._was_leader:
            self._take_office()
        # Nodes first, registry after: a portfolio an operator stopped and a node
        # already unloaded is then never mistaken for one that should be loaded.
        cluster = self._stall.judge(observe(self._coord, self._wall(), self.config.dead_after), self._clock())
        self._cluster = cluster
        self._sessions.watch(cluster)
        self._note_lost(cluster)
        reported = cluster.reported()
        alive = frozenset(cluster.alive)
        self._finish(self._migrations.poll(alive, reported))
        self._pass_moving = self._migrations.moving()
        for sent in self._migrations.take_sent():
            self._actuator.record_load(sent.portfolio_id, sent.node_id, sent.epoch, sent.nonce, sent.at)
        entries = {e.portfolio_id: e for e in self._store.registry.list()}
        fences = self._fences(set(entries) | set(reported))
        now = self._clock()
        self._ledger.forget_confirmed(reported, now, horizon=self.config.load_timeout * 10)
        self._actuator.check_refusals()
        plan = diff(
            list(entries.values()),
            reported,
            alive,
            fences,
            self._ledger.sent,
            now,
            self.config.load_timeout,
            busy=frozenset(self._pass_moving),
        )
        candidates = self._candidates(cluster, reported, entries)
        self._actuator.apply(plan, entries, fences, candidates, any_alive=bool(alive), losses=cluster.losses())
        if not self._elector.is_leader():
            return
        self._figures = TickFigures(
            nodes_alive=len(alive),
            portfolios_placed=sum(1 for e in entries.values() if e.desired == "running" and e.node_id is not None),
            portfolios_pending=len(self._ledger.pending),
        )
        self._take_requests(entries, cluster, candidates)
        self._rebalance(plan, entries, cluster)
        self._publish(plan)

    def _take_office(self) -> None:
        self._was_leader = True
        self._ledger.clear()
        self._stall.reset()
        self._accepting_before = None
        self._membership.reset()
        lease = self._elector.lease
        epoch = lease.epoch if lease else None
        self._store.audit.record(
            "scheduler",
            AuditEvent.LEADER_ELECTED,
            {"scheduler_id": self.config.scheduler_id, "epoch": epoch},
            self._wall_ns(),
        )

    def _note_lost(self, cluster: Cluster) -> None:
        """Audit the nodes that joined or were lost since this leader's previous pass
        (``membership.py``), and notify each lost one (died, cut off, or stopped: all
        stop heartbeating). A new leader starts afresh."""
        for node_id in self._membership.observe(cluster):
            node = cluster.nodes.get(node_id)
            self._notices.notify(node_lost_notice(node_id, None if node is None else node.heartbeat_age))

    def _step_down(self) -> None:
        if self._was_leader:
            log.warning("scheduler %s is no longer leader", self.config.scheduler_id)
        self._was_leader = False
        self._membership.reset()
        self._figures = None
        self._migrations.abandon()
        self._ledger.clear()

    def _fences(self, pids: set[str]) -> dict[str, Fence]:
        """Every portfolio's fence, in one round trip."""
        keys = {names.portfolio_epoch_key(pid): pid for pid in pids}
        return {keys[key]: fence for key, fence in self._coord.get_fences(keys).items()}

    def _candidates(
        self, cluster: Cluster, reported: dict[str, dict[str, int]], entries: dict[str, RegistryEntry]
    ) -> dict[str, Candidate]:
        nodes = {
            nid: (node.capacity(self.config.default_capacity), node.accepting) for nid, node in cluster.alive.items()
        }
        # those of this pass (their registry entries may predate their hand-over) and any begun since
        moving = {**self._pass_moving, **self._migrations.moving()}
        return build_candidates(nodes, reported, entries, moving, self._symbols)

    # --- migrations --------------------------------------------------------------

    def _take_requests(
        self, entries: dict[str, RegistryEntry], cluster: Cluster, candidates: dict[str, Candidate]
    ) -> None:
        for request in pending_requests(self._coord):
            if len(self._migrations) >= self.config.max_migrations:
                return
            if not self._coord.delete(names.migration_request_key(request.portfolio_id)):
                continue
            problem = self._start_migration(request, entries, cluster, candidates)
            if problem is not None:
                result = MigrationResult(
                    request_id=request.request_id,
                    portfolio_id=request.portfolio_id,
                    ok=False,
                    detail=problem,
                    finished_ns=self._wall_ns(),
                )
                write_json(self._coord, names.migration_result_key(request.request_id), result, RESULT_TTL)

    def _start_migration(
        self,
        request: MigrationRequest,
        entries: dict[str, RegistryEntry],
        cluster: Cluster,
        candidates: dict[str, Candidate],
    ) -> str | None:
        """Validate and begin; a problem is returned as one line for the operator."""
        pid = request.portfolio_id
        entry = entries.get(pid)
        chosen = migration_target(
            request,
            entry,
            reported=cluster.reported(),
            candidates=candidates,
            symbols=self._symbols,
            slack=self.config.affinity_slack,
            busy=pid in self._pass_moving or pid in self._migrations.busy(),
        )
        if isinstance(chosen, Refused):
            return chosen.reason
        source, target = chosen
        self._migrations.begin(request, source, entries[pid].epoch, target)
        self._handover.wake()
        candidates[target] = candidates[target].with_portfolio(
            pid, self._symbols.of(entries[pid].spec_toml), self._symbols.partitions(entries[pid].spec_toml)
        )
        return None

    def _finish(self, results: list[MigrationResult]) -> None:
        for result in results:
            if result.ok:
                log.info(
                    "migrated %s from %s to %s (epoch %s, gap %.1f ms)",
                    result.portfolio_id, result.source, result.target, result.epoch, result.gap_ms or 0.0,
                )  # fmt: skip

    def _rebalance(self, plan: Plan, entries: dict[str, RegistryEntry], cluster: Cluster) -> None:
        accepting = frozenset(nid for nid, node in cluster.alive.items() if node.accepting)
        if self._accepting_before is not None and accepting - self._accepting_before:
            self._rebalance_wanted = True
        self._accepting_before = accepting
        room = self.config.max_migrations - len(self._migrations)
        if not self._rebalance_wanted or self.config.rebalance_moves == 0 or room <= 0:
            return
        movable = frozenset(plan.loaded) - self._migrations.busy()
        symbols = {pid: self._symbols.of(e.spec_toml) for pid, e in entries.items()}
        partitions = {pid: self._symbols.partitions(e.spec_toml) for pid, e in entries.items()}
        # Loads by placement only: a node's metrics keep listing what it just migrated
        # away until its next beat, which would make a source look heavier than it is
        # (moves from the wrong node, a second migrate to a node that no longer hosts
        # the portfolio, or "balanced" declared while it is not).
        placed = list(self._candidates(cluster, {}, entries).values())
        moves = plan_rebalance(placed, symbols, min(self.config.rebalance_moves, room), movable, partitions)
        if not moves:
            # Balanced: done. Unbalanced but nothing movable yet (still loading): later.
            if not plan_rebalance(placed, symbols, 1):
                self._rebalance_wanted = False
            return
        for move in moves:
            request = MigrationRequest(
                request_id=uuid.uuid4().hex,
                portfolio_id=move.portfolio_id,
                to=move.target,
                requested_ns=self._wall_ns(),
                origin="rebalance",
            )
            self._migrations.begin(request, move.source, entries[move.portfolio_id].epoch, move.target)
            self._handover.wake()

    # --- status ------------------------------------------------------------------

    def _publish(self, plan: Plan) -> None:
        lease = self._elector.lease
        if lease is None:
            return
        stale: dict[str, list[str]] = {}
        for copy in plan.stale:
            stale.setdefault(copy.portfolio_id, []).append(f"{copy.node_id}@{copy.epoch}")
        status = SchedulerStatus(
            leader=self.config.scheduler_id,
            leader_epoch=lease.epoch,
            updated_ns=self._wall_ns(),
            tick_interval=self.config.tick_interval,
            pending=dict(sorted(self._ledger.pending.items())),
            stale=stale,
            migrations=self._migrations.progress(),
        )
        write_json(self._coord, names.SCHEDULER_STATUS_KEY, status, self.config.status_ttl)

    def _wall_ns(self) -> int:
        return int(self._wall().timestamp() * 1e9)
