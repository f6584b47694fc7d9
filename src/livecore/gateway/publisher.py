"""Journal-then-publish for execution reports, with retries.

Every outcome is written to the durable journal *before* it is published on
``orders.feedback``. Reports wait in a FIFO until both steps are done, so a
failing database or broker delays outcomes but never loses or reorders them.
Deliveries that fail are published again by ``settle``; the caller commits its
consumer offsets only once ``settle`` returns True (at-least-once; consumers
de-duplicate by fill id).

A report whose journaling or publishing keeps failing while the backends
answer (not ``faults.TRANSIENT``, ``policy.max_attempts`` times in a row)
would block every report behind it. It leaves the shared queue:

- a fill or an ``accepted`` report (an order's first outcome, or money) is
  never dropped: it is *held* with every later report of its portfolio, retried
  with backoff, and the portfolio is *halted* (``halted``: the desk rejects its
  new orders) until the held reports are journaled and published; counted in
  ``held_reports``, logged at ERROR;
- any other report (``rejected``, ``cancelled``) is dead-lettered on
  ``<feedback topic>.dlq`` (partition 0, offset 0: it was never on the bus)
  and counted in ``dropped``.

A delivery that keeps failing stops blocking ``settle`` after
``max_attempts`` tries: an outcome (already journaled) is still published again
on every ``settle`` (``undelivered``); a dead letter is given up (``lost_letters``).
Both are logged at ERROR.

Operator notices (``livecore.notify``) leave from here too, once per outcome:
a rejection (and, when the deployment asks for them, a fill) once it is
journaled and published, and a portfolio halted because a report could not
be. Each is a non-blocking put on the notifier's queue; a republished outcome
(the answer to a resend) is not notified again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from livecore.faults import Fault, RetryPolicy, classify, describe
from livecore.notify import NO_NOTICES, NoticeKind, NoticeSink, fault_notice, fill_notice, rejection_notice
from livecore.ports.bus import Delivery, Producer, Record, dead_letter
from livecore.ports.store import Journal
from livecore.wire.codec import encode
from livecore.wire.messages import FILL_STATUSES, DeadLetter, FeedbackStatus, OrderFeedback
from livecore.wire.names import Topics

log = logging.getLogger(__name__)

# reports that are never dropped: money moved, or the order is live at the broker
NEVER_DROPPED = frozenset(FILL_STATUSES | {FeedbackStatus.ACCEPTED})


@dataclass(slots=True)
class _Held:
    """Reports of one halted portfolio, in order, and when to try them again."""

    reports: deque[OrderFeedback]
    reason: str
    attempts: int = 0
    next_try: float = 0.0


@dataclass(slots=True)
class _Failed:
    topic: str
    key: bytes | None
    value: bytes
    attempts: int


class FeedbackPublisher:
    """Shared by the gateway's threads; one producer keeps per-portfolio order."""

    def __init__(
        self,
        *,
        producer: Producer,
        journal: Journal,
        feedback_topic: str,
        policy: RetryPolicy | None = None,
        component: str = "gateway",
        monotonic: Callable[[], float] = time.monotonic,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        self._producer = producer
        self._notices = notices
        self._notify_fills = notices.wants(NoticeKind.FILL)
        self._policy = policy or RetryPolicy()
        self._max_refusals = self._policy.max_attempts
        self._component = component
        self._monotonic = monotonic
        self._refusals = 0  # consecutive refused tries of the head report
        self._journal = journal
        self._topic = feedback_topic
        self._dlq = Topics().dlq(feedback_topic)
        self._pending: deque[OrderFeedback] = deque()
        self._held: dict[str, _Held] = {}
        self._failed: list[_Failed] = []
        self._unpublished: dict[int, OrderFeedback] = {}  # journaled, publishing raised
        self._lock = threading.RLock()
        self.published = 0
        self.fills = 0  # fill reports (partial or final) journaled and published
        self.rejections = 0  # rejections journaled and published
        self.republished = 0
        self.delivery_failures = 0
        self.dropped = 0  # non-fill reports dead-lettered because they could not be journaled/published
        self.held_reports = 0  # fills/acceptances that could not be journaled/published (portfolio halted)
        self.undelivered = 0  # journaled outcomes whose delivery kept failing (still retried)
        self.lost_letters = 0  # dead letters whose delivery kept failing (given up)

    def emit(self, reports: list[OrderFeedback]) -> None:
        """Journal and publish ``reports`` (after any still pending from an earlier failure).
        Raises if the journal fails; the reports stay queued and go out on the next call."""
        with self._lock:
            self.enqueue(reports)
            self.flush_pending()

    def enqueue(self, reports: list[OrderFeedback]) -> None:
        """Queue ``reports`` without trying them now (``flush_pending``/``settle`` will)."""
        with self._lock:
            for feedback in reports:
                held = self._held.get(feedback.portfolio_id)
                if held is not None:
                    held.reports.append(feedback)  # behind the halted portfolio's held reports
                else:
                    self._pending.append(feedback)

    def halted(self, portfolio_id: str) -> str | None:
        """Why ``portfolio_id`` may not trade at this gateway now, or None."""
        with self._lock:
            held = self._held.get(portfolio_id)
            return None if held is None else held.reason

    @property
    def halted_portfolios(self) -> int:
        return len(self._held)

    def flush_pending(self) -> None:
        with self._lock:
            self._retry_held()
            while self._pending:
                feedback = self._pending[0]
                try:
                    self._deliver(feedback)
                except Exception as exc:
                    if not self._refused(feedback, exc):
                        raise
                    continue
                self._refusals = 0
                self._pending.popleft()

    def _deliver(self, feedback: OrderFeedback) -> None:
        """Journal (once: a report journaled whose publishing raised is not journaled
        again, the journal de-duplicates only fills), then publish."""
        if id(feedback) not in self._unpublished:
            self._journal.record_feedback(feedback)
            self._unpublished[id(feedback)] = feedback  # holds the object: its id stays unique
        self._publish(self._topic, feedback.portfolio_id.encode(), encode(feedback))
        del self._unpublished[id(feedback)]
        self.published += 1
        if feedback.status in FILL_STATUSES:
            self.fills += 1
            if self._notify_fills:
                self._notices.notify(fill_notice(feedback))
        elif feedback.status is FeedbackStatus.REJECTED:
            self.rejections += 1
            self._notices.notify(rejection_notice(feedback))

    def _refused(self, feedback: OrderFeedback, exc: Exception) -> bool:
        """Count a refused try of the head report; True when it left the queue."""
        if classify(exc) is Fault.TRANSIENT:
            return False
        self._refusals += 1
        if self._refusals < self._max_refusals:
            return False
        self._pending.popleft()
        self._refusals = 0
        reason = f"journal/publish refused it {self._max_refusals} times: {describe(exc)}"
        if feedback.status in NEVER_DROPPED:
            self._hold(feedback, reason)
        else:
            self._drop(feedback, reason)
        return True

    def _hold(self, feedback: OrderFeedback, reason: str) -> None:
        """Take ``feedback`` and its portfolio's later reports out of the queue; halt it."""
        pid = feedback.portfolio_id
        self.held_reports += 1
        log.error(
            "feedback %s of %s (portfolio %s) HELD, portfolio halted at the gateway: %s",
            feedback.status.value,
            feedback.client_order_id,
            pid,
            reason,
        )
        mine = [f for f in self._pending if f.portfolio_id == pid]
        self._pending = deque(f for f in self._pending if f.portfolio_id != pid)
        held = _Held(deque([feedback, *mine]), f"report not journaled: {reason}"[:400], attempts=1)
        held.next_try = self._monotonic() + self._policy.backoff(held.attempts)
        self._held[pid] = held  # reports of a held portfolio never reach the shared queue
        self._notices.notify(fault_notice(pid, f"halted at the gateway: {held.reason}"))

    def _retry_held(self) -> None:
        now = self._monotonic()
        for pid, held in list(self._held.items()):
            if now < held.next_try:
                continue
            while held.reports:
                try:
                    self._deliver(held.reports[0])
                except Exception as exc:
                    held.attempts += 1
                    held.next_try = now + self._policy.backoff(held.attempts)
                    log.error("portfolio %s still halted (try %d): %s", pid, held.attempts, describe(exc, 200))
                    break
                held.reports.popleft()
            else:
                del self._held[pid]
                log.warning("portfolio %s: held reports journaled and published, trading resumes", pid)

    def _drop(self, feedback: OrderFeedback, reason: str) -> None:
        self.dropped += 1
        self._unpublished.pop(id(feedback), None)
        log.error("feedback %s of %s dead-lettered: %s", feedback.status.value, feedback.client_order_id, reason)
        source = Record(self._topic, 0, 0, feedback.portfolio_id.encode(), encode(feedback), 0)
        try:
            self.dead_letter(self._dlq, dead_letter(source, reason, self._component, time.time_ns()))
        except Exception:
            log.exception("the dead letter of feedback %s could not be written", feedback.client_order_id)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def republish(self, history: list[OrderFeedback]) -> None:
        """Publish already-journaled outcomes again (the answer to a resend)."""
        with self._lock:
            for feedback in history:
                self._publish(self._topic, feedback.portfolio_id.encode(), encode(feedback))
                self.republished += 1

    def dead_letter(self, topic: str, letter: DeadLetter) -> None:
        with self._lock:
            self._publish(topic, letter.key, encode(letter))

    def _publish(self, topic: str, key: bytes | None, value: bytes, attempts: int = 0) -> None:
        def on_delivery(delivery: Delivery) -> None:
            if delivery.error is not None:
                with self._lock:
                    self.delivery_failures += 1
                    self._failed.append(_Failed(topic, key, value, attempts + 1))

        self._producer.publish(topic, key, value, on_delivery)

    def settle(self, timeout: float) -> bool:
        """Wait for every queued message; True when all outcomes are journaled and
        delivered, or given up on (see the module docstring). Failed deliveries are
        published again (the next ``settle`` sees how they went)."""
        self.flush_pending()
        self._producer.flush(timeout)
        with self._lock:
            failed, self._failed = self._failed, []
            blocking = False
            for item in failed:
                bounded = item.attempts >= self._max_refusals
                if bounded and item.topic != self._topic:
                    self.lost_letters += 1
                    log.error("dead letter for %s not delivered after %d tries: given up", item.topic, item.attempts)
                    continue
                if bounded and item.attempts == self._max_refusals:
                    self.undelivered += 1
                    log.error("an outcome was not delivered after %d tries; still retried", item.attempts)
                blocking = blocking or not bounded
                self._publish(item.topic, item.key, item.value, item.attempts)
            return not blocking and not self._pending

    def close(self, timeout: float) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout)
