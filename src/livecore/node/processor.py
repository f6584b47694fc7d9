"""PortfolioProcessor: one hosted portfolio, its mailbox, and the rules for
touching it.

The portfolio itself is not thread-safe. Everything that reads or changes it
happens under the processor's lock: batches run by a worker, and the inline
operations of commands (``exclusive``, ``quiesce``, ``close``). Nothing that
goes wrong inside a portfolio escapes the processor: an exception from the
domain is logged, counted and isolates that portfolio (no more market events),
while fills still apply so the books stay right.

A fault (the domain's, or one the node records) and a risk halt are told to
the operator once each, when they first appear after a change
(``livecore.notify``; a non-blocking put). The state the portfolio was loaded
in is the baseline, so a portfolio restored halted is not announced again on
every load.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from livecore.domain.view import EquitySample
from livecore.node.hosted import HostedPortfolio, encode_view, feedback_applied, with_fault
from livecore.node.mailbox import (
    ControlItem,
    FeedbackItem,
    FeedbackTicket,
    Mailbox,
    MarketSlot,
    SnapshotDue,
    Submitted,
)
from livecore.notify import NO_NOTICES, NoticeSink, fault_notice, risk_halt_notice
from livecore.wire.messages import CancelOrder, NewOrder

log = logging.getLogger(__name__)

Order = NewOrder | CancelOrder


class ProcessorHost(Protocol):
    """What a processor asks of the node around it."""

    def schedule(self, processor: PortfolioProcessor) -> None:
        """Put ``processor`` on the worker pool's ready queue."""

    def send_orders(self, processor: PortfolioProcessor, orders: list[Order], received_ns: int | None) -> None:
        """Hand orders to the producer (``received_ns``: perf_counter_ns when the market
        event that caused them arrived; None when no market event did)."""

    def save_snapshot(self, processor: PortfolioProcessor, data: bytes) -> bool:
        """Store ``data`` durably; False if the store failed (retried later)."""

    def record_equity(self, processor: PortfolioProcessor, sample: EquitySample) -> None:
        """Keep a point of the equity curve (never raises: a lost point is only a gap)."""

    def tickets_done(self, tickets: list[FeedbackTicket]) -> None:
        """These feedback records may be committed."""

    def defer_snapshot(self, processor: PortfolioProcessor) -> None:
        """Ask ``processor`` for a snapshot once its feedback snapshot interval has passed."""

    def universe_changed(self, processor: PortfolioProcessor, symbols: frozenset[str]) -> None:
        """The strategy's symbols changed: refresh the InterestMap."""


class PortfolioProcessor:
    """Hosts one portfolio for one node. Created on load, closed on unload/drop/stop."""

    def __init__(
        self,
        *,
        portfolio: HostedPortfolio,
        host: ProcessorHost,
        mailbox_size: int,
        feedback_mailbox_size: int,
        equity_interval_s: float | None = None,
        feedback_snapshot_interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        """``equity_interval_s``: a saved snapshot also records a point of the equity
        curve when the last one is at least this old (None: never).
        ``feedback_snapshot_interval_s``: the least time between two snapshots that
        applied feedback asks for (``node/deferred.py``; 0: after every batch)."""
        self.portfolio_id = portfolio.portfolio_id
        self._notices = notices
        self.mailbox = Mailbox(mailbox_size, feedback_mailbox_size)
        self._portfolio = portfolio
        self._host = host
        self._schedule = host.schedule  # resolved once: called for every routed batch
        self._clock = clock
        self._lock = threading.Lock()
        self._universe_version = portfolio.universe_version
        self._dirty = False
        self._unsaved: list[FeedbackTicket] = []
        self._last_snapshot = clock()
        self._equity_interval = equity_interval_s
        self._feedback_interval = feedback_snapshot_interval_s
        self._last_equity: float | None = None  # the first saved snapshot records one
        self._changes = 0
        self._view: tuple[int, str] | None = None
        self.error: str | None = None  # an exception that escaped the domain
        self.needs_reconcile: str | None = None  # why its books may be wrong (``isolate``)
        self.halt_version = 0  # the cluster halt state this portfolio was told (node/halt.py)
        self.events_applied = 0  # everything taken from the mailbox
        self.market_applied = 0  # market events given to the portfolio
        self.conflated = 0
        # the fault and halt last told: the state the portfolio was loaded in
        self._told_fault: str | None = self.error or portfolio.fault
        self._told_halt: str | None = portfolio.halt_reason

    # --- read-only facts (safe without the lock: set once per portfolio instance) ---

    @property
    def epoch(self) -> int:
        return self._portfolio.epoch

    @property
    def closed(self) -> bool:
        return self.mailbox.closed

    @property
    def faulted(self) -> bool:
        return self.error is not None or self._portfolio.faulted

    # --- producers (any thread) -----------------------------------------------------

    def offer_market(self, slots: list[MarketSlot]) -> int:
        """Queue market events; return how many queued events were conflated away."""
        schedule, conflated = self.mailbox.put_market(slots)
        if conflated:
            self.conflated += conflated
        if schedule:
            self._schedule(self)
        return conflated

    def offer_feedback(self, item: FeedbackItem) -> bool:
        """False when the feedback lane is full or the processor is closed."""
        accepted, schedule = self.mailbox.put_feedback(item)
        if schedule:
            self._host.schedule(self)
        return accepted

    def confirm_submitted(self, client_order_id: str) -> None:
        if self.mailbox.put_control(Submitted(client_order_id)):
            self._host.schedule(self)

    def request_snapshot(self) -> None:
        if self.mailbox.put_control(SnapshotDue()):
            self._host.schedule(self)

    @property
    def snapshot_age(self) -> float:
        return self._clock() - self._last_snapshot

    @property
    def feedback_snapshot_due(self) -> bool:
        return self._clock() - self._last_snapshot >= self._feedback_interval

    @property
    def dirty(self) -> bool:
        return self._dirty or bool(self._unsaved)

    # --- the worker side ----------------------------------------------------------------

    def run_batch(self, limit: int) -> bool:
        """Apply up to ``limit`` queued items in order; True if more are waiting."""
        mailbox, lock = self.mailbox, self._lock
        lock.acquire()  # not ``with``: twice the cost, once per run (see ``Mailbox.put_market``)
        try:
            if not mailbox.closed:
                self._apply(*mailbox.take_lanes(limit), market=True)
        except Exception as exc:  # the host failed us (store, producer): keep the worker alive
            self._record_error("batch", exc)
        finally:
            lock.release()
        return mailbox.finish()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[HostedPortfolio]:
        """The portfolio, for a command to act on inline (reload, pause, view)."""
        with self._lock:
            yield self._portfolio
            self._after_change()

    def act(self, action: Callable[[HostedPortfolio], None]) -> None:
        """Run a command's ``action`` on the portfolio inline and send the orders it
        created at once (the cluster kill switch's flatten), not at the next event."""
        with self._lock:
            if self.mailbox.closed:
                return
            action(self._portfolio)
            orders = self._portfolio.drain_outbox()
            if orders:
                self._host.send_orders(self, orders, None)
            self._dirty = True
            self._after_change()

    def quiesce(self) -> None:
        """Stop emitting orders, apply queued fills, send what the outbox holds."""
        with self._lock:
            self._portfolio.set_trading_enabled(False)
            control, _market = self.mailbox.take_lanes(len(self.mailbox) + 1)  # prices are dropped
            self._apply(control, (), market=False, send=True)

    def close(self, persist: bool) -> bool:
        """Refuse further input; apply what is queued (fills, confirmations); persist a
        final snapshot when asked. Nothing more is sent. Every ticket is released: a
        portfolio no longer hosted here ignores its feedback (the next owner reconciles)."""
        with self._lock:
            left = self.mailbox.close()
            self._apply(left, (), market=False, send=False, snapshot=False)
            saved = self._persist() if persist else False
            tickets, self._unsaved = self._unsaved, []
        if tickets:
            self._host.tickets_done(tickets)
        return saved

    def isolate(self, reason: str) -> None:
        """Stop this portfolio trading for good: its books may be wrong (feedback it
        should have applied was given up). Prices and fills still apply; only a new
        load (snapshot + gateway journal) can put it right."""
        with self._lock:
            self._portfolio.set_trading_enabled(False)
            if self.needs_reconcile is None:
                self.needs_reconcile = reason
            if self.error is None:
                self.error = reason
            self._changes += 1  # the view shows it at the next publish
            self._check_alarms()

    def persist(self) -> bool:
        """Save a snapshot now (load saves one at the new epoch before trading)."""
        with self._lock:
            return self._persist()

    def view_json(self, node_id: str) -> str | None:
        """The operator view as JSON, recomputed only when something was applied."""
        with self._lock:
            if self.mailbox.closed:
                return None
            if self._view is None or self._view[0] != self._changes:
                try:
                    view = self._portfolio.view()
                    if self.needs_reconcile is not None:
                        view = with_fault(view, self.needs_reconcile)
                    self._view = (self._changes, encode_view(view, node_id))
                except Exception as exc:
                    self._record_error("view", exc)
                    return None
            return self._view[1]

    # --- internals (lock held) --------------------------------------------------------

    def _apply(
        self,
        control: Sequence[ControlItem],
        slots: Sequence[MarketSlot],
        market: bool,
        send: bool = True,
        snapshot: bool = True,
    ) -> None:
        portfolio = self._portfolio
        want_snapshot = self._apply_control(control) if control else False
        if market and slots and self.error is None:
            self._apply_market(slots)
        if send and portfolio.has_requests:  # orders from fills, reconcile or a reload
            self._host.send_orders(self, portfolio.drain_outbox(), None)
        self.events_applied += len(control) + len(slots)
        self._after_change()
        if not snapshot:
            return
        if want_snapshot and (self._dirty or self._unsaved):
            self._persist()
        elif self._unsaved and not (self.feedback_snapshot_due and self._persist()):
            self._host.defer_snapshot(self)  # too soon after the last one, or it failed

    def _apply_control(self, control: Sequence[ControlItem]) -> bool:
        """Fills, confirmations; True when a snapshot was asked for."""
        want_snapshot = False
        for item in control:
            if isinstance(item, FeedbackItem):
                self._apply_feedback(item)
            elif isinstance(item, Submitted):
                self._guard("mark_submitted", self._portfolio.mark_submitted, item.client_order_id)
            else:
                want_snapshot = True
        return want_snapshot

    def _apply_market(self, slots: Sequence[MarketSlot]) -> None:
        """Each event to the portfolio, in order; orders it made go out at once. An
        answer of exactly False from ``on_market`` says nothing was requested (the
        domain's promise), so the outbox is only asked after any other answer."""
        portfolio = self._portfolio
        send_orders = self._host.send_orders
        on_market, drain_outbox = portfolio.on_market, portfolio.drain_outbox
        for slot in slots:
            try:  # what _guard does, inline: this runs once per event
                answer = on_market(slot.event)
            except Exception as exc:
                self._record_error("on_market", exc)
                answer = None
            if answer is not False and portfolio.has_requests:
                send_orders(self, drain_outbox(), slot.received_ns)
        self.market_applied += len(slots)
        self._dirty = True

    def _apply_feedback(self, item: FeedbackItem) -> None:
        try:
            result = self._portfolio.on_feedback(item.feedback)
        except Exception as exc:
            self._record_error("on_feedback", exc)
            result = None
        if feedback_applied(result):
            self._dirty = True
        if item.ticket is not None:
            self._unsaved.append(item.ticket)

    def _after_change(self) -> None:
        self._changes += 1
        self._check_alarms()
        version = self._portfolio.universe_version
        if version != self._universe_version:
            self._universe_version = version
            self._host.universe_changed(self, self._portfolio.symbols)

    def _check_alarms(self) -> None:
        """Notify a fault or a halt that appeared (or changed) since the last look.
        Runs once per batch: the common case is two reads and two identity tests."""
        portfolio = self._portfolio
        fault, halt = self.error or portfolio.fault, portfolio.halt_reason
        told_fault, told_halt = self._told_fault, self._told_halt
        if fault is told_fault and halt is told_halt:
            return
        self._told_fault, self._told_halt = fault, halt
        if fault is not None and fault != told_fault:
            self._notices.notify(fault_notice(self.portfolio_id, f"faulted, no more orders: {fault}"))
        if halt is not None and halt != told_halt:
            self._notices.notify(risk_halt_notice(self.portfolio_id, halt))

    def _persist(self) -> bool:
        """Save a snapshot; on success release the tickets it covers."""
        try:
            data = self._portfolio.snapshot()
        except Exception as exc:
            self._record_error("snapshot", exc)
            return False
        if not self._host.save_snapshot(self, data):
            return False
        self._dirty = False
        self._last_snapshot = self._clock()
        self._record_equity()
        if self._unsaved:
            tickets, self._unsaved = self._unsaved, []
            self._host.tickets_done(tickets)
        return True

    def _record_equity(self) -> None:
        """A point of the equity curve with this snapshot, at most one per interval:
        off the per-event path, and bounded however often snapshots are saved."""
        interval, last = self._equity_interval, self._last_equity
        now = self._clock()
        if interval is None or (last is not None and now - last < interval):
            return
        self._last_equity = now
        try:
            sample = self._portfolio.equity_sample()
        except Exception as exc:
            log.warning("portfolio %s: no equity point: %s: %s", self.portfolio_id, type(exc).__name__, exc)
            return
        self._host.record_equity(self, sample)

    def _guard(self, what: str, call: Callable[..., object], *args: object) -> None:
        try:
            call(*args)
        except Exception as exc:
            self._record_error(what, exc)

    def _record_error(self, what: str, exc: Exception) -> None:
        if self.error is None:
            log.exception("portfolio %s: %s raised; portfolio isolated", self.portfolio_id, what)
            self.error = f"{what}: {type(exc).__name__}: {exc}"
        else:
            log.warning("portfolio %s: %s raised again: %s", self.portfolio_id, what, exc)
