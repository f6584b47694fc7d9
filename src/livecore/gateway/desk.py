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
from collections.abc import Iterable

from livecore.control.halt import ClusterHalt
from livecore.faults import describe
from livecore.gateway.answers import malformed_rejection, rejection
from livecore.gateway.desk_books import BookDesk
from livecore.gateway.desk_market import MarketDesk
from livecore.gateway.fencing import admission, is_stale
from livecore.gateway.halt import CLUSTER_HALT_CANCEL, projected_position, reduces, refusal
from livecore.ports.bus import Record
from livecore.wire.codec import MalformedMessage, order_requests
from livecore.wire.messages import (
    CancelOrder,
    NewOrder,
    OrderFeedback,
)

log = logging.getLogger(__name__)


class GatewayDesk(MarketDesk, BookDesk):
    """Thread-safe: each public method takes the desk lock. This module holds the
    orders and the cluster halt; market data and book ownership are its parts in
    ``desk_market.py`` and ``desk_books.py`` (collaborators: ``desk_base.py``)."""

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
