"""The gateway's **orders** loop: one consumer of ``orders`` in the shared group.

Per batch: the desk handles each record under the loop's ``RecordGuard`` (a
backend that does not answer: the same record again after a backoff; a record
that keeps failing while the backends answer: dead-lettered, and the next
record goes on), then the publisher settles (outcomes journaled and delivered,
retried until they are) and only then are the offsets committed. Anything else
that fails rewinds the batch with ``seek``: the journal makes the repeat
harmless. On every change of the partition assignment the desk adopts the
journal's open orders of the portfolios that now map here and forgets those
that moved away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial

from livecore.faults import describe
from livecore.gateway.config import GatewayConfig
from livecore.gateway.desk import GatewayDesk
from livecore.gateway.publisher import FeedbackPublisher
from livecore.gateway.stats import partition_of
from livecore.isolation import RecordGuard, RecordOutcome
from livecore.ports.bus import Consumer, Record, TopicPartition
from livecore.retry import Backoff, RetryStopped, retry

log = logging.getLogger(__name__)


class OrdersLoop:
    """Runs on the gateway's orders thread until ``stop`` is set."""

    def __init__(
        self,
        *,
        gateway_id: str,
        config: GatewayConfig,
        topic: str,
        consumer: Callable[[], Consumer],
        desk: GatewayDesk,
        publisher: FeedbackPublisher,
        guard: RecordGuard,
        stop: threading.Event,
        assigned: threading.Event,
        on_error: Callable[[str], None],
        after_batch: Callable[[], None],
    ) -> None:
        """``consumer`` opens the loop's consumer (on its thread); ``assigned`` is set
        once it holds partitions; ``on_error`` counts a loop error; ``after_batch``
        runs after each poll (the counters' log)."""
        self._gateway_id = gateway_id
        self._config = config
        self._topic = topic
        self._open = consumer
        self._desk = desk
        self._publisher = publisher
        self._guard = guard
        self._stop = stop
        self._assigned = assigned
        self._on_error = on_error
        self._after_batch = after_batch
        self._assignment: frozenset[int] = frozenset()

    @property
    def assignment(self) -> frozenset[int]:
        """The partitions held, as of the last poll."""
        return self._assignment

    def run(self) -> None:
        s = self._config
        consumer = self._open()
        try:
            while not self._stop.is_set():
                records: list[Record] = []
                try:
                    records = consumer.poll(s.max_batch, s.poll_timeout_s)
                    self._sync_assignment(consumer)
                    if records:
                        self._handle(consumer, records)
                    self._after_batch()
                except Exception:
                    rewind(consumer, records)  # nothing polled is ever skipped
                    self._on_error("orders")
                    self._stop.wait(s.retry_backoff_s)
        finally:
            consumer.close()

    def _handle(self, consumer: Consumer, records: list[Record]) -> None:
        """Each record isolated, then settle, then commit what was handled."""
        desk, guard = self._desk, self._guard
        desk.begin_orders()
        handled: list[Record] = []
        for record in records:
            outcome = guard.run(
                partial(desk.on_order_record, record),
                partial(desk.order_failed, record),
                f"order record {where(record)}",
            )
            if outcome is RecordOutcome.STOPPED:
                break  # not committed: redelivered to whoever runs next
            handled.append(record)
        if handled and self._settle():
            consumer.commit(handled)

    def _settle(self) -> bool:
        """Wait until every outcome is journaled and delivered; False when stopping."""
        publisher, s = self._publisher, self._config

        def settled() -> None:
            if not publisher.settle(s.publish_timeout_s):
                raise _Unsettled

        def retry_on(exc: Exception, _attempt: int) -> bool:
            if not isinstance(exc, _Unsettled):
                log.warning("gateway %s: outcomes not settled yet: %s", self._gateway_id, describe(exc, 200))
            return True

        pause = Backoff(s.retry_backoff_s, s.retry_backoff_s).pause
        try:
            retry(settled, retry_on=retry_on, backoff=pause, wait=self._stop.wait)
            return True
        except RetryStopped:
            return False

    def _sync_assignment(self, consumer: Consumer) -> None:
        assigned = frozenset(tp.partition for tp in consumer.assignment() if tp.topic == self._topic)
        if assigned == self._assignment:
            if assigned:
                self._assigned.set()
            return
        n = self._config.topics.orders
        released = self._desk.release_open_orders(lambda pid: partition_of(pid, n) in assigned)
        adopted = self._desk.adopt_open_orders(lambda pid: partition_of(pid, n) in assigned)
        self._publisher.settle(self._config.publish_timeout_s)
        self._assignment = assigned
        if assigned:
            self._assigned.set()
        log.info(
            "gateway %s: orders partitions %s (adopted %d, released %d open orders)",
            self._gateway_id,
            sorted(assigned),
            adopted,
            released,
        )


class _Unsettled(Exception):
    """Outcomes still in flight when ``settle`` timed out: wait and settle again."""


def rewind(consumer: Consumer, records: list[Record]) -> None:
    """Seek every partition of ``records`` back to its first record of the batch."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first.setdefault(tp, record.offset)
    for tp, offset in first.items():
        try:
            consumer.seek(tp, offset)
        except Exception:
            log.exception("cannot rewind %s to %d", tp, offset)


def where(record: Record) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"
