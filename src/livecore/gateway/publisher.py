"""Journal-then-publish for execution reports, with retries.

Every outcome is written to the durable journal *before* it is published on
``orders.feedback``. Reports wait in a FIFO until both steps are done, so a
failing database or broker delays outcomes but never loses or reorders them.
Deliveries that fail are published again by ``settle``; the caller commits its
consumer offsets only once ``settle`` returns True (at-least-once; consumers
de-duplicate by fill id).

A report the journal keeps refusing while it answers (``faults.REJECTED``,
``policy.max_attempts`` times in a row) would block every report behind it:
it is taken out of the queue, never published (journal before publish), and
dead-lettered on ``<feedback topic>.dlq`` (counted in ``dropped``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from livecore.faults import Fault, RetryPolicy, classify, describe
from livecore.ports.bus import Delivery, Producer
from livecore.ports.store import Journal
from livecore.wire.codec import encode
from livecore.wire.messages import DeadLetter, OrderFeedback
from livecore.wire.names import DLQ_SUFFIX

log = logging.getLogger(__name__)


class FeedbackPublisher:
    """Shared by the gateway's threads; one producer keeps per-portfolio order."""

    def __init__(
        self,
        producer: Producer,
        journal: Journal,
        feedback_topic: str,
        policy: RetryPolicy | None = None,
        component: str = "gateway",
    ) -> None:
        self._producer = producer
        self._max_refusals = (policy or RetryPolicy()).max_attempts
        self._component = component
        self._refusals = 0  # consecutive REJECTED journal writes of the head report
        self._journal = journal
        self._topic = feedback_topic
        self._pending: deque[OrderFeedback] = deque()
        self._failed: list[tuple[str, bytes | None, bytes]] = []
        self._lock = threading.RLock()
        self.published = 0
        self.republished = 0
        self.delivery_failures = 0
        self.dropped = 0

    def emit(self, reports: list[OrderFeedback]) -> None:
        """Journal and publish ``reports`` (after any still pending from an earlier failure).
        Raises if the journal fails; the reports stay queued and go out on the next call."""
        with self._lock:
            self._pending.extend(reports)
            self.flush_pending()

    def flush_pending(self) -> None:
        with self._lock:
            while self._pending:
                feedback = self._pending[0]
                try:
                    self._journal.record_feedback(feedback)
                except Exception as exc:
                    if not self._refused(feedback, exc):
                        raise
                    continue
                self._refusals = 0
                self._publish(self._topic, feedback.portfolio_id.encode(), encode(feedback))
                self._pending.popleft()
                self.published += 1

    def emit_now(self, feedback: OrderFeedback) -> None:
        """Journal and publish one report, or raise and keep nothing queued (a
        best-effort answer that must not block the queue if the journal refuses it)."""
        with self._lock:
            self.flush_pending()
            self._journal.record_feedback(feedback)
            self._publish(self._topic, feedback.portfolio_id.encode(), encode(feedback))
            self.published += 1

    def _refused(self, feedback: OrderFeedback, exc: Exception) -> bool:
        """Count a journal refusal of the head report; True when it was dropped."""
        if classify(exc) is Fault.TRANSIENT:
            return False
        self._refusals += 1
        if self._refusals < self._max_refusals:
            return False
        self._pending.popleft()
        self._refusals = 0
        self.dropped += 1
        reason = f"journal refused it {self._max_refusals} times: {describe(exc)}"
        log.error("feedback %s of %s dropped: %s", feedback.status.value, feedback.client_order_id, reason)
        letter = DeadLetter(
            topic=self._topic,
            partition=-1,
            offset=-1,
            key=feedback.portfolio_id.encode(),
            payload=encode(feedback),
            reason=reason,
            component=self._component,
            ts_ns=time.time_ns(),
        )
        self._publish(self._topic + DLQ_SUFFIX, letter.key, encode(letter))
        return True

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

    def _publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        def on_delivery(delivery: Delivery) -> None:
            if delivery.error is not None:
                with self._lock:
                    self.delivery_failures += 1
                    self._failed.append((topic, key, value))

        self._producer.publish(topic, key, value, on_delivery)

    def settle(self, timeout: float) -> bool:
        """Wait for every queued message; True when all outcomes are journaled and
        delivered. Failed deliveries are queued again (the next ``settle`` retries)."""
        self.flush_pending()
        self._producer.flush(timeout)
        with self._lock:
            failed, self._failed = self._failed, []
            for topic, key, value in failed:
                self._publish(topic, key, value)
            return not failed and not self._pending

    def close(self, timeout: float) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout)
