"""Planned migration, carried out by the leader one small step at a time.

1. ``portfolio.migrate {"to": target}`` goes to the source node, which stops
   emitting, drains, persists its snapshot, drops the portfolio and acks; with
   it (one flush), ``portfolio.prepare {"hold_s": 2 * ack_timeout, "epoch":
   source epoch + 1, "load_nonce": ...}`` goes to the target, which builds the
   spec and assigns the market-data partitions meanwhile (``node/prepared.py``;
   its ack is not waited for) and watches the fence for the epoch announced
   (``node/fencewatch.py``). A migration
   that fails before the load sends ``hold_s`` 0 to the target (best effort:
   the hold's end drops it anyway).
2. Only on that ack: the epoch after the validated source epoch is granted to
   the target by the fence's compare-and-set (no read first: a fence moved
   meanwhile refuses it, and the migration fails) and ``portfolio.load
   {"epoch": next}`` goes to it with the nonce announced; the registry is
   written while the broker takes the load (the step ends once both are done).
   A prepared target has most often loaded by then: it read the fence.
3. The target's ack (or its metrics listing the portfolio) ends it.

There is never a moment with two owners: the source has stopped before the
fence names the target. The trading gap is the time from step 1's ack to
step 3's, as observed by the leader, whose hand-over thread
(``scheduler/handover.py``) polls acks every ``ack_poll`` seconds while a
migration is in flight, also in the middle of a pass, reading the acks of
every migration in flight in one round trip. Steps never block:
``poll`` advances whatever is ready and returns the finished ones.

Thread-safe: one lock serialises every step and every read of the migrations
in flight, so the pass and the hand-over thread never act on one migration at
once. Loads sent by a hand-over are queued (``take_sent``) for the pass to
record in its ledger: the ledger has one writer, the pass.

If the source never acks, nothing changed hands: the migration fails and the
reconcile loop carries on with the source (reloading it there if it did drop
it). If the target refuses, its placement is cleared so that the portfolio is
placed anew.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from livecore.control.commands import Command, CommandChannel, Outgoing
from livecore.control.events import AuditEvent
from livecore.control.requests import (
    RESULT_TTL,
    MigrationProgress,
    MigrationRequest,
    MigrationResult,
    write_json,
)
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.telemetry.histogram import Histogram, decades
from livecore.wire import names
from livecore.wire.messages import CommandAck
from livecore.wire.signing import new_nonce

log = logging.getLogger(__name__)

# the trading gap, in seconds: 1 ms .. 100 s in 1-2-3-5-7 steps per decade
GAP_BUCKETS: tuple[float, ...] = decades(-3, 2)


class Phase(StrEnum):
    DRAINING = "draining"  # waiting for the source's ack
    LOADING = "loading"  # waiting for the target's ack


@dataclass(slots=True)
class Migration:
    request: MigrationRequest
    source: str
    source_epoch: int
    target: str
    source_nonce: str
    started_at: float
    phase: Phase = Phase.DRAINING
    source_acked_at: float | None = None
    epoch: int | None = None
    target_nonce: str | None = None
    target_sent_at: float | None = None
    load_nonce: str | None = None  # the load's, announced in the target's ``portfolio.prepare``

    @property
    def prepared(self) -> bool:
        """The target was sent ``portfolio.prepare``."""
        return self.load_nonce is not None

    @property
    def portfolio_id(self) -> str:
        return self.request.portfolio_id

    @property
    def awaited(self) -> str:
        """The nonce whose ack this migration waits for now."""
        if self.phase is Phase.DRAINING or self.target_nonce is None:
            return self.source_nonce
        return self.target_nonce

    def progress(self) -> MigrationProgress:
        return MigrationProgress(
            portfolio_id=self.portfolio_id,
            source=self.source,
            target=self.target,
            phase=self.phase.value,
            origin=self.request.origin,
        )


@dataclass(frozen=True, slots=True)
class LoadSent:
    """A load a hand-over sent, for the pass's ledger."""

    portfolio_id: str
    node_id: str
    epoch: int
    nonce: str
    at: float  # the runner's clock


class MigrationRunner:
    """Migrations in flight, by portfolio id. Driven by the pass and the hand-over
    thread; ``acting`` (leadership) is checked before every step."""

    def __init__(
        self,
        channel: CommandChannel,
        coord: Coordination,
        store: Store,
        ack_timeout: float,
        *,
        acting: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
        prepare: bool = True,
    ) -> None:
        """``prepare``: send the target ``portfolio.prepare`` when a migration begins."""
        self._channel = channel
        self._prepare = prepare
        self._coord = coord
        self._store = store
        self._ack_timeout = ack_timeout
        self._acting = acting
        self._clock = clock
        self._wall_ns = wall_ns
        self._lock = threading.RLock()
        self._active: dict[str, Migration] = {}
        self._sent: list[LoadSent] = []
        self.gaps = Histogram(GAP_BUCKETS)  # of the migrations that succeeded
        self.succeeded = 0
        self.failed = 0

    # --- reads (any thread) ------------------------------------------------------

    def busy(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._active)

    def moving(self) -> dict[str, tuple[str, str]]:
        """{portfolio: (source, target)} of the migrations in flight now."""
        with self._lock:
            return {pid: (m.source, m.target) for pid, m in self._active.items()}

    def progress(self) -> list[MigrationProgress]:
        with self._lock:
            return [m.progress() for _, m in sorted(self._active.items())]

    def __len__(self) -> int:
        with self._lock:
            return len(self._active)

    def take_sent(self) -> list[LoadSent]:
        """The loads sent since the last call (the pass records them in its ledger)."""
        with self._lock:
            sent, self._sent = self._sent, []
            return sent

    # --- steps -------------------------------------------------------------------

    def begin(self, request: MigrationRequest, source: str, source_epoch: int, target: str) -> None:
        """Send the migrate command to the source (validated by the caller) and the
        prepare to the target, with one wait for the broker."""
        pid = request.portfolio_id
        commands = [Outgoing(Command.MIGRATE, source, pid, {"to": target})]
        load_nonce = new_nonce() if self._prepare else None
        if load_nonce is not None:  # the load to come, announced: the target loads when the fence names it
            announced = {"hold_s": 2 * self._ack_timeout, "epoch": source_epoch + 1, "load_nonce": load_nonce}
            commands.append(Outgoing(Command.PREPARE, target, pid, announced))
        with self._lock:
            command = self._channel.send_many(commands)[0]
            self._active[pid] = Migration(
                request, source, source_epoch, target, command.nonce, started_at=self._clock(), load_nonce=load_nonce
            )
        log.info("migrating %s from %s to %s", request.portfolio_id, source, target)

    def abandon(self) -> None:
        """Forget every migration (leadership lost): the next leader's reconcile
        resumes from whatever the registry and the nodes say."""
        with self._lock:
            self._active.clear()
            self._sent.clear()

    def poll(self, alive: frozenset[str], reported: Mapping[str, Mapping[str, int]]) -> list[MigrationResult]:
        """Advance every migration that can move; return those that finished."""
        with self._lock:
            if not self._active or not self._acting():
                return []
            return self._poll(alive, reported)

    def _poll(self, alive: frozenset[str], reported: Mapping[str, Mapping[str, int]]) -> list[MigrationResult]:
        finished = []
        acks = self._acks()
        for pid in sorted(self._active):
            migration = self._active[pid]
            try:
                result = self._step(migration, alive, reported, acks.get(migration.awaited))
            except Exception as exc:  # a backend error: drop this one, keep the loop alive
                log.exception("migration of %s failed", pid)
                del self._active[pid]
                with contextlib.suppress(Exception):
                    finished.append(self._fail(migration, f"error: {exc}"))
                continue
            if result is not None:
                del self._active[pid]
                finished.append(result)
        return finished

    def _acks(self) -> dict[str, CommandAck]:
        """The acks every migration in flight waits for, in one round trip (a failed
        read is no ack: each step then acts on its timeouts only)."""
        try:
            return self._channel.acks([m.awaited for m in self._active.values()])
        except Exception:
            log.exception("cannot read the acks of the migrations in flight")
            return {}

    def _step(
        self,
        m: Migration,
        alive: frozenset[str],
        reported: Mapping[str, Mapping[str, int]],
        ack: CommandAck | None,
    ) -> MigrationResult | None:
        now = self._clock()
        if m.phase is Phase.DRAINING:
            if ack is None:
                if m.source not in alive:
                    return self._fail(m, f"source {m.source} died before it acked; failover takes over")
                if now - m.started_at > self._ack_timeout:
                    return self._fail(m, f"source {m.source} did not ack within {self._ack_timeout:g}s")
                return None
            if not ack.ok:
                return self._fail(m, f"source {m.source} refused: {ack.detail}")
            if m.source_acked_at is None:
                m.source_acked_at = now
            if m.target not in alive:
                return self._fail(m, f"target {m.target} died; the portfolio is reloaded on {m.source}")
            return self._switch(m)
        assert m.target_nonce is not None and m.target_sent_at is not None
        if (ack is not None and ack.ok) or reported.get(m.portfolio_id, {}).get(m.target) == m.epoch:
            return self._finish(m, ok=True, detail="")
        if ack is None and m.target not in alive:
            return self._fail(m, f"target {m.target} died while loading; failover takes over")
        if ack is not None:
            self._store.registry.set_placement(m.portfolio_id, None, m.epoch or 0, self._wall_ns())
            return self._fail(m, f"target {m.target} refused the load: {ack.detail}; placing anew")
        if now - m.target_sent_at > self._ack_timeout:
            return self._fail(m, f"target {m.target} did not ack the load within {self._ack_timeout:g}s")
        return None

    def _switch(self, m: Migration) -> MigrationResult | None:
        """The source let go: grant the next epoch to the target and load it there."""
        pid = m.portfolio_id
        if not self._acting():  # leadership lapsed: the next leader takes it from here
            return None
        # The epoch after the one the migration was validated at, with no read first: the
        # fence's compare-and-set refuses it if anything advanced the fence meanwhile.
        epoch = m.source_epoch + 1
        if not self._coord.advance_fence(names.portfolio_epoch_key(pid), epoch, m.target):
            return self._fail(m, f"ownership fence moved past epoch {m.source_epoch} during the migration")
        # The load goes out right after the fence, the registry is written while the
        # broker takes it (a leader dying between the two leaves the fence ahead of the
        # registry: its successor re-fences on the fence's owner, the target).
        command = self._channel.send(
            Command.LOAD,
            m.target,
            pid,
            {"epoch": epoch},
            meanwhile=lambda: self._place(pid, m.target, epoch),
            nonce=m.load_nonce,
        )
        m.epoch, m.target_nonce, m.target_sent_at = epoch, command.nonce, self._clock()
        m.phase = Phase.LOADING
        self._sent.append(LoadSent(pid, m.target, epoch, command.nonce, m.target_sent_at))
        seen = m.source_acked_at if m.source_acked_at is not None else m.target_sent_at
        log.info(
            "handed %s over from %s to %s at epoch %d (load sent %.1f ms after the source's ack was seen)",
            pid, m.source, m.target, epoch, (m.target_sent_at - seen) * 1000,
        )  # fmt: skip
        return None

    def _place(self, pid: str, target: str, epoch: int) -> None:
        """The registry follows the fence (a row gone or ahead: the target's load says so)."""
        if not self._store.registry.set_placement(pid, target, epoch, self._wall_ns()):
            log.warning("registry placement of %s at epoch %d not written (removed, or ahead)", pid, epoch)

    def _fail(self, m: Migration, detail: str) -> MigrationResult:
        log.warning("migration of %s failed: %s", m.portfolio_id, detail)
        if m.prepared and m.target_nonce is None:  # no load will take the preparation
            try:
                self._channel.send(Command.PREPARE, m.target, m.portfolio_id, {"hold_s": 0})
            except Exception:
                log.warning("could not tell %s to drop its preparation of %s", m.target, m.portfolio_id)
        return self._finish(m, ok=False, detail=detail)

    def _finish(self, m: Migration, ok: bool, detail: str) -> MigrationResult:
        gap_ms = None
        if ok and m.source_acked_at is not None:
            gap_s = self._clock() - m.source_acked_at
            gap_ms = gap_s * 1000
            self.gaps.observe(gap_s)
        if ok:
            self.succeeded += 1
        else:
            self.failed += 1
        result = MigrationResult(
            request_id=m.request.request_id,
            portfolio_id=m.portfolio_id,
            ok=ok,
            source=m.source,
            target=m.target,
            epoch=m.epoch,
            gap_ms=gap_ms,
            detail=detail,
            finished_ns=self._wall_ns(),
        )
        write_json(self._coord, names.migration_result_key(m.request.request_id), result, RESULT_TTL)
        self._store.audit.record(
            "scheduler",
            AuditEvent.MIGRATION if ok else AuditEvent.MIGRATION_FAILED,
            {
                "portfolio_id": m.portfolio_id,
                "source": m.source,
                "target": m.target,
                "epoch": m.epoch,
                "gap_ms": gap_ms,
                "origin": m.request.origin,
                "detail": detail,
            },
            self._wall_ns(),
        )
        return result
