"""The gateway never sends an order twice and never drops a fill, whatever the
journal or the producer refuse; every message it builds from hostile input
passes the wire's decoders. Embedded backends (memory bus and coordination,
a SQLite file)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal as D
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.faults import RetryPolicy
from livecore.gateway.answers import malformed_rejection
from livecore.gateway.desk import GatewayDesk
from livecore.gateway.fencing import FenceReader
from livecore.gateway.paper import PaperBroker
from livecore.gateway.publisher import FeedbackPublisher
from livecore.isolation import RecordGuard, RecordOutcome
from livecore.ports.bus import Bus, Delivery, Record
from livecore.ports.store import Journal, JournalFeedback, Store, StoreError
from livecore.wire.codec import dead_letters, encode, order_feedback
from livecore.wire.messages import DeadLetter, FeedbackStatus, NewOrder, OrderFeedback, Tick
from livecore.wire.names import Topics
from tests.faulty import store_error
from tests.unit.gateway.test_desk_isolation import new_order

TOPICS = Topics("")
POLICY = RetryPolicy(max_attempts=5, backoff_s=0, max_backoff_s=0)


class RefusingJournal:
    """The real journal, except ``record_feedback`` refuses (``DataError``) the
    statuses in ``refuse`` while it is not empty."""

    def __init__(self, real: Journal) -> None:
        self.real = real
        self.refuse: set[FeedbackStatus] = set()

    def record_feedback(self, feedback: OrderFeedback) -> JournalFeedback:
        if feedback.status in self.refuse:
            raise store_error(sqlalchemy.exc.DataError, "numeric field overflow")
        return self.real.record_feedback(feedback)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class CountingBroker(PaperBroker):
    def __init__(self) -> None:
        super().__init__()
        self.submits: list[str] = []

    def submit(self, order: NewOrder, now_ns: int) -> None:
        self.submits.append(order.client_order_id)
        super().submit(order, now_ns)


@dataclass
class Rig:
    bus: Bus
    store: Store
    journal: RefusingJournal
    broker: CountingBroker
    publisher: FeedbackPublisher
    desk: GatewayDesk
    guard: RecordGuard

    def order(self, offset: int, order: NewOrder) -> RecordOutcome:
        rec = Record(TOPICS.orders, 0, offset, None, encode(order), 0)
        return self.guard.run(partial(self.desk.on_order_record, rec), partial(self.desk.order_failed, rec), "r")

    def published(self, topic: str) -> list[bytes]:
        self.publisher.settle(5.0)
        reader = self.bus.consumer(uuid.uuid4().hex, [topic], "earliest")
        values = [r.value for r in reader.poll(100, 0.5)]
        reader.close()
        return values


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    bus = open_bus(f"memory://{uuid.uuid4().hex}")
    coord = open_coordination(f"memory://{uuid.uuid4().hex}")
    store = open_store(f"sqlite:///{tmp_path}/gw.db")
    bus.create_topics({t: 1 for t in (TOPICS.orders_feedback, TOPICS.dlq(TOPICS.orders_feedback))})
    bus.create_topics({TOPICS.dlq(TOPICS.orders): 1})
    journal = RefusingJournal(store.journal)
    producer = bus.producer()
    publisher = FeedbackPublisher(
        producer=producer, journal=journal, feedback_topic=TOPICS.orders_feedback, policy=POLICY
    )  # type: ignore[arg-type]
    broker = CountingBroker()
    desk = GatewayDesk(
        broker=broker,  # type: ignore[arg-type]
        journal=journal,
        fences=FenceReader(coord),
        publisher=publisher,
        topics=TOPICS,
        require_fence=False,
    )
    guard = RecordGuard(label="t", policy=POLICY, probe=lambda: True, wait=lambda s: False)
    yield Rig(bus, store, journal, broker, publisher, desk, guard)
    producer.close()
    store.close()
    coord.close()
    bus.close()


def test_an_order_whose_acceptance_the_journal_refuses_is_sent_once(rig: Rig) -> None:
    rig.journal.refuse = {FeedbackStatus.ACCEPTED}
    assert rig.order(0, new_order("p1-1-1")) is RecordOutcome.DONE
    assert rig.broker.submits == ["p1-1-1"]
    assert rig.desk.stats.unanswered_known == 1
    assert rig.publisher.dropped == 0 and rig.publisher.held_reports == 1  # the first outcome is kept
    rig.journal.refuse = set()
    rig.publisher.flush_pending()
    statuses = [e.feedback.status for e in rig.store.journal.feedback_for_order("p1-1-1")]
    assert statuses == [FeedbackStatus.ACCEPTED] and rig.publisher.halted("p1") is None
    assert rig.order(1, new_order("p1-1-1")) is RecordOutcome.DONE  # a resend: republished, never executed
    assert rig.broker.submits == ["p1-1-1"]


def test_adoption_does_not_resend_an_order_whose_outcomes_are_held(rig: Rig) -> None:
    rig.journal.refuse = {FeedbackStatus.ACCEPTED}
    assert rig.order(0, new_order("p1-1-1")) is RecordOutcome.DONE
    rig.desk.on_market_events([Tick(symbol="AAA", ts_ns=2, price=D("10"))])  # filled: no longer open
    assert rig.desk.adopt_open_orders(lambda pid: True) == 0
    assert rig.broker.submits == ["p1-1-1"]


def test_a_fill_the_journal_refuses_halts_its_portfolio_and_is_never_dropped(rig: Rig) -> None:
    assert rig.order(0, new_order("p1-1-1")) is RecordOutcome.DONE
    rig.journal.refuse = {FeedbackStatus.FILLED}
    rig.desk.on_market_events([Tick(symbol="AAA", ts_ns=2, price=D("10"))])  # the fill: refused once
    for _ in range(POLICY.max_attempts - 2):
        with pytest.raises(StoreError):
            rig.desk.flush_pending()
    rig.desk.flush_pending()  # refused a last time: held, not dropped
    assert rig.publisher.held_reports == 1 and rig.publisher.dropped == 0
    assert rig.publisher.halted("p1") is not None and rig.publisher.pending == 0
    assert rig.order(1, new_order("p1-1-2")) is RecordOutcome.DONE
    assert rig.broker.submits == ["p1-1-1"]  # a halted portfolio does not trade
    assert rig.desk.stats.rejected_halted == 1
    rig.journal.refuse = set()
    rig.publisher.flush_pending()
    statuses = [(e.feedback.client_order_id, e.feedback.status) for e in rig.store.journal.feedback("p1")]
    assert statuses == [
        ("p1-1-1", FeedbackStatus.ACCEPTED),
        ("p1-1-1", FeedbackStatus.FILLED),
        ("p1-1-2", FeedbackStatus.REJECTED),
    ]
    assert rig.publisher.halted("p1") is None
    published = [order_feedback.decode(v).status for v in rig.published(TOPICS.orders_feedback)]
    assert published == [FeedbackStatus.ACCEPTED, FeedbackStatus.FILLED, FeedbackStatus.REJECTED]


def test_a_refused_rejection_is_dead_lettered_in_a_decodable_letter(rig: Rig) -> None:
    rig.journal.refuse = {FeedbackStatus.REJECTED}
    rig.publisher.enqueue(
        [OrderFeedback(status=FeedbackStatus.REJECTED, client_order_id="x", portfolio_id="p1", epoch=1, reason="r")]
    )
    for _ in range(POLICY.max_attempts - 1):
        with pytest.raises(StoreError):
            rig.publisher.flush_pending()
    rig.publisher.flush_pending()
    assert rig.publisher.dropped == 1 and rig.publisher.pending == 0
    (value,) = rig.published(TOPICS.dlq(TOPICS.orders_feedback))
    letter = dead_letters.decode(value)
    assert (letter.topic, letter.partition, letter.offset) == (TOPICS.orders_feedback, 0, 0)
    assert order_feedback.decode(letter.payload).client_order_id == "x"


def test_a_give_up_that_raises_is_tried_again_and_the_portfolio_is_told(rig: Rig) -> None:
    real = rig.publisher.dead_letter
    failures = iter([True, True])

    def flaky(topic: str, letter: DeadLetter) -> None:
        if next(failures, False):
            raise OSError("dlq unavailable")
        real(topic, letter)

    rig.publisher.dead_letter = flaky  # type: ignore[method-assign]

    def refuse(order: NewOrder, now_ns: int) -> None:
        raise ValueError("venue refuses")

    rig.broker.submit = refuse  # type: ignore[method-assign]
    assert rig.order(0, new_order("p1-1-1")) is RecordOutcome.DEAD_LETTERED
    assert rig.guard.give_up_failures == 2 and rig.desk.stats.failed_orders == 1
    rig.publisher.settle(5.0)
    (entry,) = rig.store.journal.feedback_for_order("p1-1-1")
    assert entry.feedback.status is FeedbackStatus.REJECTED and entry.feedback.reason is not None
    assert entry.feedback.reason.startswith("failed: ")


def test_a_give_up_that_keeps_raising_stops_without_committing() -> None:
    stop = iter([False, False, True])
    guard = RecordGuard(label="t", policy=POLICY, probe=lambda: True, wait=lambda s: next(stop))

    def work() -> None:
        raise ValueError("bad record")

    def give_up(reason: str) -> None:
        raise OSError("dlq unavailable")

    assert guard.run(work, give_up, "r") is RecordOutcome.STOPPED
    assert guard.give_up_failures == 3


class Exploding:
    """A producer whose ``publish`` raises for one key."""

    def __init__(self, real: Any, key: bytes) -> None:
        self.real, self.key = real, key

    def publish(self, topic: str, key: bytes | None, value: bytes, on_delivery: Any = None) -> None:
        if key == self.key:
            raise ValueError("cannot encode")
        self.real.publish(topic, key, value, on_delivery)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_report_that_cannot_be_published_does_not_block_the_others(rig: Rig) -> None:
    publisher = FeedbackPublisher(
        producer=Exploding(rig.bus.producer(), b"bad"),  # type: ignore[arg-type]
        journal=rig.store.journal,
        feedback_topic=TOPICS.orders_feedback,
        policy=POLICY,
    )
    bad = OrderFeedback(status=FeedbackStatus.CANCELLED, client_order_id="b-1", portfolio_id="bad", epoch=1)
    good = OrderFeedback(status=FeedbackStatus.CANCELLED, client_order_id="g-1", portfolio_id="good", epoch=1)
    publisher.enqueue([bad, good])
    for _ in range(POLICY.max_attempts - 1):
        with pytest.raises(ValueError):
            publisher.flush_pending()
    assert publisher.settle(5.0)
    assert publisher.pending == 0 and publisher.dropped == 1 and publisher.published == 1
    journaled = [e.feedback.client_order_id for p in ("bad", "good") for e in rig.store.journal.feedback(p)]
    assert journaled == ["b-1", "g-1"]  # journaled once, not once per try


class FailingDeliveries:
    """A producer whose deliveries all fail."""

    def __init__(self) -> None:
        self.waiting: list[Any] = []

    def publish(self, topic: str, key: bytes | None, value: bytes, on_delivery: Any = None) -> None:
        self.waiting.append(on_delivery)

    def flush(self, timeout: float = 0) -> int:
        waiting, self.waiting = self.waiting, []
        for callback in waiting:
            callback(Delivery(topic="t", key=None, partition=0, offset=-1, error="broker says no"))
        return 0


def test_a_delivery_that_keeps_failing_stops_blocking_settle_and_is_counted(rig: Rig) -> None:
    producer = FailingDeliveries()
    publisher = FeedbackPublisher(
        producer=producer,  # type: ignore[arg-type]
        journal=rig.store.journal,
        feedback_topic=TOPICS.orders_feedback,
        policy=POLICY,
    )
    publisher.emit([OrderFeedback(status=FeedbackStatus.CANCELLED, client_order_id="c", portfolio_id="p", epoch=1)])
    results = [publisher.settle(0.1) for _ in range(POLICY.max_attempts + 1)]
    assert results[: POLICY.max_attempts - 1] == [False] * (POLICY.max_attempts - 1) and results[-1]
    assert publisher.undelivered == 1 and len(producer.waiting) == 1  # still published again


HOSTILE: list[dict[str, object]] = [
    {"portfolio_id": "p1", "client_order_id": "p1-1-1", "epoch": 2**63, "symbol": "AAA"},
    {"portfolio_id": "p1", "client_order_id": "x" * 500, "epoch": -1, "symbol": "A\nB"},
    {"portfolio_id": "p1", "client_order_id": "a\x00b", "epoch": True, "symbol": "S" * 200},
    {"portfolio_id": "p" * 200, "client_order_id": "ok"},
    {"portfolio_id": "\u2028", "client_order_id": "ok"},
    {"portfolio_id": 7},
]


@pytest.mark.parametrize("fields", HOSTILE)
def test_every_message_built_from_hostile_input_decodes(rig: Rig, fields: dict[str, object]) -> None:
    rec = Record(TOPICS.orders, 3, 9, b"k", json.dumps(fields).encode(), 0)
    built = malformed_rejection(rec, "bad", 1)
    if built is not None:
        assert order_feedback.decode(encode(built)) == built
    assert (
        rig.guard.run(partial(rig.desk.on_order_record, rec), partial(rig.desk.order_failed, rec), "r")
        is RecordOutcome.DONE
    )
    for value in rig.published(TOPICS.orders_feedback):
        order_feedback.decode(value)
    for value in rig.published(TOPICS.dlq(TOPICS.orders)):
        assert dead_letters.decode(value).offset == 9
