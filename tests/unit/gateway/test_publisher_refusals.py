"""FeedbackPublisher: a report the journal keeps refusing cannot block the
queue; a journal that does not answer never loses a report."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from livecore.adapters.factory import open_bus, open_store
from livecore.faults import RetryPolicy
from livecore.gateway.publisher import FeedbackPublisher
from livecore.ports.bus import Bus
from livecore.ports.store import Journal, JournalFeedback, Store, StoreError
from livecore.wire.codec import dead_letters, encode
from livecore.wire.messages import FeedbackStatus, OrderFeedback
from tests.faulty import store_error

TOPIC = "orders.feedback"


class RefusingJournal:
    """The real journal, except ``record_feedback`` raises ``error()`` for one order id."""

    def __init__(self, real: Journal, coid: str, error: Any) -> None:
        self._real, self._coid, self._error = real, coid, error
        self.refusals = 0

    def record_feedback(self, feedback: OrderFeedback) -> JournalFeedback:
        if feedback.client_order_id == self._coid:
            self.refusals += 1
            raise self._error()
        return self._real.record_feedback(feedback)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[tuple[Bus, Store]]:
    bus, store = open_bus(f"memory://{uuid.uuid4().hex}"), open_store(f"sqlite:///{tmp_path}/pub.db")
    bus.create_topics({TOPIC: 1, TOPIC + ".dlq": 1})
    yield bus, store
    store.close()
    bus.close()


def accepted(coid: str) -> OrderFeedback:
    return OrderFeedback(status=FeedbackStatus.ACCEPTED, client_order_id=coid, portfolio_id="p", epoch=1)


def cancelled(coid: str) -> OrderFeedback:
    return OrderFeedback(status=FeedbackStatus.CANCELLED, client_order_id=coid, portfolio_id="p", epoch=1)


def test_a_report_the_journal_keeps_refusing_is_dropped_and_dead_lettered(backends: tuple[Bus, Store]) -> None:
    bus, store = backends
    journal = RefusingJournal(store.journal, "bad", lambda: store_error(sqlalchemy.exc.DataError, "value too long"))
    producer = bus.producer()
    publisher = FeedbackPublisher(
        producer=producer,  # type: ignore[arg-type]
        journal=journal,
        feedback_topic=TOPIC,
        policy=RetryPolicy(max_attempts=3),
    )
    with pytest.raises(StoreError):
        publisher.emit([cancelled("bad"), cancelled("good")])
    with pytest.raises(StoreError):
        publisher.flush_pending()
    publisher.flush_pending()  # the third refusal: dropped, and the report behind it goes out
    assert (journal.refusals, publisher.dropped, publisher.pending) == (3, 1, 0)
    assert [e.feedback.client_order_id for e in store.journal.feedback("p")] == ["good"]
    assert publisher.settle(5.0)
    reader = bus.consumer("r", [TOPIC + ".dlq"], "earliest")
    (record,) = reader.poll(10, 1.0)
    letter = dead_letters.decode(record.value)
    assert letter.payload == encode(cancelled("bad")) and "refused it 3 times" in letter.reason
    reader.close()
    producer.close()


def test_a_journal_that_does_not_answer_never_loses_a_report(backends: tuple[Bus, Store]) -> None:
    bus, store = backends
    outage = RefusingJournal(
        store.journal, "slow", lambda: store_error(sqlalchemy.exc.OperationalError, "connection refused")
    )
    producer = bus.producer()
    publisher = FeedbackPublisher(
        producer=producer,  # type: ignore[arg-type]
        journal=outage,
        feedback_topic=TOPIC,
        policy=RetryPolicy(max_attempts=3),
    )
    with pytest.raises(StoreError):
        publisher.emit([accepted("slow")])
    for _ in range(10):
        with pytest.raises(StoreError):
            publisher.flush_pending()
    assert publisher.dropped == 0 and publisher.pending == 1
    producer.close()
