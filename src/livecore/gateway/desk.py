"""The gateway desk: what the gateway does with each order and market record.

No threads and no consumers here (``service.py`` owns those): one call per
record, serialised by the desk's lock, so the broker, the journal and the
published feedback change together. Rules:

- a ``NewOrder`` is journaled first (``record_order`` is the de-duplication
  gate, durable across restarts); a client order id seen before is answered by
  republishing its journaled outcomes and is never executed again;
- then fenced (``stale_epoch`` / ``no_owner``), then submitted to the broker;
  every outcome is journaled before it is published;
- resting orders of a portfolio whose fence moved past their epoch are
  cancelled (reason ``stale_epoch``) before any market event can fill them;
- a malformed record is dead-lettered and, when its portfolio id can be read,
  rejected back to that portfolio;
- one record at a time: the service isolates each (``livecore.isolation``); a
  record given up is dead-lettered by ``order_failed``/``market_failed``, and an
  order nothing was executed for is rejected (reason ``failed: ...``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from livecore.control.halt import ClusterHalt
from livecore.eventtime import EventClock
from livecore.faults import Fault, classify, describe
from livecore.gateway.answers import malformed_rejection, rejection
from livecore.gateway.broker import BrokerAdapter
from livecore.gateway.fencing import FenceReader, admission, is_stale
from livecore.gateway.halt import CLUSTER_HALT_CANCEL, projected_position, reduces, refusal
from livecore.gateway.publisher import FeedbackPublisher
from livecore.gateway.stats import GatewayStats
from livecore.ports.bus import Record, dead_letter
from livecore.ports.store import Journal
from livecore.wire.codec import MalformedMessage, market_events, order_requests
from livecore.wire.messages import (
    CancelOrder,
    DeadLetter,
    MarketEvent,
    NewOrder,
    OrderFeedback,
)
from livecore.wire.names import Topics

log = logging.getLogger(__name__)


class GatewayDesk:
    """Thread-safe: each public method takes the desk lock."""

    def __init__(
        self,
        *,
        broker: BrokerAdapter,
        journal: Journal,
        fences: FenceReader,
        publisher: FeedbackPublisher,
        topics: Topics,
        require_fence: bool,
        component: str = "gateway",
        clock: Callable[[], int] = time.time_ns,
        event_clock: EventClock | None = None,
    ) -> None:
        """``event_clock``: in event time the desk's "now" is the latest market
        event seen (it replaces ``clock``)."""
        self._broker = broker
        self._journal = journal
        self._fences = fences
        self._publisher = publisher
        self._topics = topics
        self._require_fence = require_fence
        self._component = component
        self._clock = clock if event_clock is None else event_clock
        self._event_clock = event_clock
        self._cluster_halt: ClusterHalt | None = None
        self._lock = threading.RLock()
        self.stats = GatewayStats()

    # --- orders -------------------------------------------------------------------

    def on_order_records(self, records: Iterable[Record]) -> None:
        """A batch, without isolation (the service isolates each record)."""
        self.begin_orders()
        for record in records:
            self.on_order_record(record)

    def begin_orders(self) -> None:
        """A new batch of order records: fences are read afresh."""
        with self._lock:
            self._fences.begin_batch()

    def on_order_record(self, record: Record) -> None:
        """One order record. Raises when a backend failed; reports produced so far
        stay queued in the publisher, so handling the record again is harmless."""
        with self._lock:
            self._publisher.flush_pending()
            try:
                request = order_requests.decode(record.value)
            except MalformedMessage as exc:
                self._malformed_order(record, exc.reason)
                self.stats.order_records += 1
                return
            if isinstance(request, NewOrder):
                self._new_order(request)
            else:
                self._cancel(request)
            self.stats.order_records += 1

    def order_failed(self, record: Record, reason: str) -> None:
        """Dead-letter an order record whose handling raised, and reject the order
        to its portfolio when nothing was executed for it. Raises when the dead
        letter or the broker/journal reads fail: the caller tries the give-up again
        (the rejection is queued last, so a repeat never queues it twice)."""
        with self._lock:
            answer = self._failed_answer(record, reason)
            self._publisher.dead_letter(self._topics.dlq(record.topic), self._letter(record, reason))
            self.stats.failed_orders += 1
            self.stats.order_records += 1
            if answer is None:
                return
            self._publisher.enqueue([answer])
            try:
                self._publisher.flush_pending()
            except Exception as exc:  # queued: settle journals and publishes it
                log.warning("rejection of failed order record @%d queued: %s", record.offset, describe(exc, 200))

    def market_failed(self, record: Record, reason: str) -> None:
        """Dead-letter a market record whose handling raised."""
        with self._lock:
            self._publisher.dead_letter(self._topics.dlq(record.topic), self._letter(record, reason))
            self.stats.failed_market += 1

    def _failed_answer(self, record: Record, reason: str) -> OrderFeedback | None:
        """The rejection owed to the portfolio of a given-up order record, if any."""
        try:
            order = order_requests.decode(record.value)
        except MalformedMessage:
            return None
        if not isinstance(order, NewOrder):
            return None
        if self._venue_knows(order.client_order_id):
            return None  # the venue has it: its outcomes are (or were) reported
        if self._journal.feedback_for_order(order.client_order_id):
            return None  # answered already
        return rejection(order, f"failed: {reason}"[:500], self._clock())

    def _venue_knows(self, coid: str) -> bool:
        try:
            return self._broker.lookup(coid) is not None
        except NotImplementedError:
            return any(o.client_order_id == coid for o in self._broker.open_orders())

    def _new_order(self, order: NewOrder) -> None:
        now = self._clock()
        self.stats.orders += 1
        if not self._journal.record_order(order, now):
            history = [entry.feedback for entry in self._journal.feedback_for_order(order.client_order_id)]
            if history:
                self.stats.duplicates += 1
                self._publisher.republish(history)
                return
            # journaled, never answered: maybe submitted already (its report queued,
            # held or dead-lettered). Ask the venue; an order it knows is never resent.
            status = self._broker.lookup(order.client_order_id)
            if status is not None:
                self.stats.unanswered_known += 1
                log.warning(
                    "order %s journaled without outcome is %s at the venue: not resent",
                    order.client_order_id,
                    status.value,
                )
                self._broker.track(order)
                return
        self._admit(order, now)

    def _admit(self, order: NewOrder, now: int) -> None:
        halted = self._publisher.halted(order.portfolio_id)
        if halted is not None:
            self.stats.rejected_halted += 1
            self._publisher.emit([rejection(order, f"halted: {halted}"[:500], now)])
            return
        if self._cluster_halt is not None and not self._reduces(order):
            self.stats.rejected_cluster_halt += 1
            self._publisher.emit([rejection(order, refusal(self._cluster_halt.reason), now)])
            return
        fence = self._fences.fence(order.portfolio_id)
        reason = admission(order.epoch, fence, self._require_fence)
        if reason is not None:
            if reason == "stale_epoch":
                self.stats.rejected_stale += 1
            else:
                self.stats.rejected_no_owner += 1
            self._publisher.emit([rejection(order, reason, now)])
            return
        self._cancel_stale_resting(order.portfolio_id, now)
        self._broker.submit(order, now)
        self._publisher.emit(self._broker.drain_reports())

    def _reduces(self, order: NewOrder) -> bool:
        """While the cluster is halted: does ``order`` only reduce its position?"""
        pid, coid = order.portfolio_id, order.client_order_id
        others = [e.order for e in self._journal.orders(pid) if e.order.client_order_id != coid]
        feedback = [e.feedback for e in self._journal.feedback(pid)]
        return reduces(projected_position(order.symbol, others, feedback), order)

    # --- the cluster kill switch ------------------------------------------------------

    @property
    def cluster_halt(self) -> ClusterHalt | None:
        return self._cluster_halt

    def set_cluster_halt(self, halt: ClusterHalt | None) -> int:
        """Apply the cluster's halt state; on halting, cancel every resting order
        (their portfolios are told). Returns the count cancelled."""
        with self._lock:
            was, self._cluster_halt = self._cluster_halt, halt
            if halt is None or was is not None:
                return 0
            self._publisher.flush_pending()
            now = self._clock()
            cancelled = sum(
                1
                for order in self._broker.open_orders()
                if self._broker.cancel(order.client_order_id, now, CLUSTER_HALT_CANCEL)
            )
            self.stats.cluster_halt_cancelled += cancelled
            self._publisher.emit(self._broker.drain_reports())
            return cancelled

    def _cancel(self, request: CancelOrder) -> None:
        now = self._clock()
        self.stats.cancel_requests += 1
        if is_stale(request.epoch, self._fences.fence(request.portfolio_id)):
            self.stats.cancels_stale += 1  # a stale owner has no say; the new one decides
            return
        if self._broker.cancel(request.client_order_id, now, "cancel_requested"):
            self._publisher.emit(self._broker.drain_reports())
            return
        history = [e.feedback for e in self._journal.feedback_for_order(request.client_order_id)]
        if history:
            self._publisher.republish(history)  # already final: tell the truth again
        else:
            self.stats.cancels_unknown += 1

    def _cancel_stale_resting(self, portfolio_id: str, now: int) -> None:
        fence = self._fences.fence(portfolio_id)
        for order in self._broker.open_orders():
            if order.portfolio_id == portfolio_id and is_stale(order.epoch, fence):
                self._broker.cancel(order.client_order_id, now, "stale_epoch")
                self.stats.stale_resting_cancelled += 1

    def _malformed_order(self, record: Record, reason: str) -> None:
        self.stats.malformed_orders += 1
        self._publisher.dead_letter(self._topics.dlq(record.topic), self._letter(record, reason))
        feedback = malformed_rejection(record, reason, self._clock())
        if feedback is None:
            return  # no portfolio to tell
        coid = feedback.client_order_id
        if self._journal.get_order(coid) is not None:
            return  # a real order has this id: a rejection would contradict its outcomes
        history = [e.feedback for e in self._journal.feedback_for_order(coid)]
        if history:
            self._publisher.republish(history)
            return
        self._publisher.emit([feedback])

    def _letter(self, record: Record, reason: str) -> DeadLetter:
        return dead_letter(record, reason, self._component, self._clock())

    # --- market data --------------------------------------------------------------

    def on_market_records(self, records: Iterable[Record], not_before_ms: int = 0) -> list[tuple[Record, Exception]]:
        """Decode and apply a batch; return the records whose decoding or event raised
        (the caller dead-letters them)."""
        events, sources, failed = self.decode_market(records, not_before_ms)
        if events:
            failed.extend((sources[index], exc) for index, exc in self.on_market_events(events))
        return failed

    def decode_market(
        self, records: Iterable[Record], not_before_ms: int = 0
    ) -> tuple[list[MarketEvent], list[Record], list[tuple[Record, Exception]]]:
        """Events with the record each came from, and the records whose decoding
        raised; malformed records are dead-lettered here, backlog dropped."""
        events: list[MarketEvent] = []
        sources: list[Record] = []
        failed: list[tuple[Record, Exception]] = []
        for record in records:
            if record.timestamp_ms < not_before_ms:
                self.stats.backlog_dropped += 1
                continue
            try:
                events.append(market_events.decode(record.value))
                sources.append(record)
            except MalformedMessage as exc:
                self.stats.malformed_market += 1
                with self._lock:
                    self._publisher.dead_letter(self._topics.dlq(record.topic), self._letter(record, exc.reason))
            except Exception as exc:
                failed.append((record, exc))
        return events, sources, failed

    def on_market_events(self, events: list[MarketEvent]) -> list[tuple[int, Exception]]:
        """Apply events in order; an event the broker raises on is skipped and
        returned with its index. Raises only before the first event is applied."""
        with self._lock:
            self._fences.begin_batch()
            self._publisher.flush_pending()
            if self._event_clock is not None:
                self._event_clock.observe(max(event.ts_ns for event in events))
            now = self._clock()
            for symbol in {event.symbol for event in events}:
                for order in self._broker.open_orders(symbol):
                    if is_stale(order.epoch, self._fences.fence(order.portfolio_id)):
                        self._broker.cancel(order.client_order_id, now, "stale_epoch")
                        self.stats.stale_resting_cancelled += 1
            failed: list[tuple[int, Exception]] = []
            for index, event in enumerate(events):
                try:
                    self._broker.on_market(event)
                except Exception as exc:
                    failed.append((index, exc))
            try:
                self._publisher.emit(self._broker.drain_reports())
            except Exception as exc:  # the events are applied: never hand them in again
                log.warning("market reports queued until the journal answers: %s", exc)
            self.stats.market_events += len(events)  # after their reports: a replay waits on it
            return failed

    def cancel_open_orders(self, reason: str) -> int:
        """Cancel every order still working (a finite replay ended: nothing can fill
        them any more); return the count. Their portfolios are told as usual."""
        with self._lock:
            self._publisher.flush_pending()
            now = self._clock()
            cancelled = sum(
                1 for order in self._broker.open_orders() if self._broker.cancel(order.client_order_id, now, reason)
            )
            self.stats.end_of_data_cancelled += cancelled
            self._publisher.emit(self._broker.drain_reports())
            return cancelled

    def pump_reports(self) -> int:
        """Journal and publish what an asynchronous broker reported since the last
        call (the gateway's report loop); the count. Queued first, so a journal
        that fails keeps them for the next try."""
        with self._lock:
            reports = self._broker.drain_reports()
            self._publisher.emit(reports)
            return len(reports)

    def flush_pending(self) -> None:
        """Journal and publish reports left queued by an earlier failure."""
        with self._lock:
            self._publisher.flush_pending()

    # --- book ownership (restart, rebalance) ----------------------------------------

    def adopt_open_orders(self, owns: Callable[[str], bool]) -> int:
        """Take over the journal's open orders of the portfolios ``owns`` accepts:
        restore those with outcomes, answer those never answered. Returns the count."""
        with self._lock:
            self._fences.begin_batch()
            self._publisher.flush_pending()
            mine = {o.client_order_id for o in self._broker.open_orders()}
            adopted = 0
            for entry in self._journal.open_orders():
                order = entry.order
                if order.client_order_id in mine or not owns(order.portfolio_id):
                    continue
                try:
                    history = [e.feedback for e in self._journal.feedback_for_order(order.client_order_id)]
                    if history:
                        self._broker.restore(order, history)
                    elif self._venue_knows(order.client_order_id):
                        self._broker.track(order)  # submitted already: its outcomes are followed
                        continue
                    else:
                        self._admit(order, self._clock())
                except Exception as exc:
                    if classify(exc) is Fault.TRANSIENT:
                        raise  # the whole adoption is tried again
                    self.stats.failed_adoptions += 1
                    log.exception("cannot adopt open order %s; skipped", order.client_order_id)
                    continue
                adopted += 1
            self.stats.adopted += adopted
            now = self._clock()
            for order in self._broker.open_orders():
                if is_stale(order.epoch, self._fences.fence(order.portfolio_id)):
                    self._broker.cancel(order.client_order_id, now, "stale_epoch")
                    self.stats.stale_resting_cancelled += 1
            self._publisher.emit(self._broker.drain_reports())
            return adopted

    def release_open_orders(self, owns: Callable[[str], bool]) -> int:
        """Forget open orders of portfolios no longer ours (another gateway adopts them)."""
        with self._lock:
            self._publisher.flush_pending()
            released = 0
            for order in self._broker.open_orders():
                if not owns(order.portfolio_id) and self._broker.release(order.client_order_id):
                    released += 1
            self.stats.released += released
            return released
