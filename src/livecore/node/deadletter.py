"""Dead letters: a message nobody can process goes to ``<topic>.dlq`` with the
reason, and is counted. Publishing is fire-and-forget: a failed dead letter is
logged, never allowed to stop the loop that found the bad message."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from livecore.ports.bus import Delivery, Producer, Record, dead_letter
from livecore.wire.codec import encode
from livecore.wire.names import Topics

log = logging.getLogger(__name__)


class DeadLetters:
    def __init__(self, *, topics: Topics, component: str, producer: Callable[[], Producer | None]) -> None:
        self._topics = topics
        self._component = component
        self._producer = producer
        self._lock = threading.Lock()
        self.count = 0
        self.by_topic: dict[str, int] = {}

    def send(self, record: Record, reason: str) -> None:
        with self._lock:
            self.count += 1
            self.by_topic[record.topic] = self.by_topic.get(record.topic, 0) + 1
        log.warning("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason[:300])
        letter = dead_letter(record, reason, self._component, time.time_ns())
        producer = self._producer()
        if producer is None:
            log.error("dead letter for %s lost: no producer", record.topic)
            return
        try:
            producer.publish(self._topics.dlq(record.topic), record.key, encode(letter), self._report)
        except Exception as exc:  # BusError, or anything else: never the end of the caller's batch
            log.error("dead letter for %s lost: %s: %s", record.topic, type(exc).__name__, exc)

    @staticmethod
    def _report(delivery: Delivery) -> None:
        if delivery.error is not None:
            log.error("dead letter to %s not delivered: %s", delivery.topic, delivery.error)
