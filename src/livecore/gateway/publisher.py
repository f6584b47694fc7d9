"""Journal-then-publish for execution reports, with retries.

Every outcome is written to the durable journal *before* it is published on
``orders.feedback``. Reports wait in a FIFO until both steps are done, so a
failing database or broker delays outcomes but never loses or reorders them.
Deliveries that fail are published again by ``settle``; the caller commits its
consumer offsets only once ``settle`` returns True (at-least-once; consumers
de-duplicate by fill id).
"""

from __future__ import annotations

import threading
from collections import deque

from livecore.ports.bus import Delivery, Producer
from livecore.ports.store import Journal
from livecore.wire.codec import encode
from livecore.wire.messages import DeadLetter, OrderFeedback


class FeedbackPublisher:
    """Shared by the gateway's threads; one producer keeps per-portfolio order."""

    def __init__(self, producer: Producer, journal: Journal, feedback_topic: str) -> None:
        self._producer = producer
        self._journal = journal
        self._topic = feedback_topic
        self._pending: deque[OrderFeedback] = deque()
        self._failed: list[tuple[str, bytes | None, bytes]] = []
        self._lock = threading.RLock()
        self.published = 0
        self.republished = 0
        self.delivery_failures = 0

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
                self._journal.record_feedback(feedback)
                self._publish(self._topic, feedback.portfolio_id.encode(), encode(feedback))
                self._pending.popleft()
                self.published += 1

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
