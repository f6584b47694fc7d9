"""Per-record isolation in the gateway's orders and market loops, embedded
(memory bus, memory coordination, SQLite) and on servers (Tansu, redis-server,
PostgreSQL): a record that raises is dead-lettered with its reason and the
records behind it on its partition are executed; a database outage retries the
same order until it answers; a database that keeps refusing an order
dead-letters it after a bounded number of tries."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
import sqlalchemy.exc
from tests.faulty import FaultyJournal, FaultyStore, RaisingBroker, store_error
from tests.integration.test_gateway_service import CONSUMER, TIMEOUT, Harness, order, statuses
from tests.servers import wait_until

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.faults import RetryPolicy
from livecore.gateway.service import TradeGateway
from livecore.wire.codec import dead_letters
from livecore.wire.messages import DeadLetter, FeedbackStatus, NewOrder

ACC, REJ, FILL = FeedbackStatus.ACCEPTED, FeedbackStatus.REJECTED, FeedbackStatus.FILLED
POISON_QTY, POISON_PRICE = D("13"), D("666.13")
FAST = RetryPolicy(max_attempts=5, backoff_s=0.01, max_backoff_s=0.05)


class Rig(Harness):
    """The service harness, with the journal wrapped so tests can make it fail."""

    def __init__(self, harness: Harness) -> None:
        super().__init__(harness.bus, harness.coord, harness.store)
        self.journal = FaultyJournal(harness.store.journal)
        self.faulty = FaultyStore(harness.store, self.journal)
        self._letters: dict[str, list[DeadLetter]] = {}

    def start_faulty(self) -> TradeGateway:
        broker = RaisingBroker(POISON_QTY, POISON_PRICE)
        gateway = TradeGateway(self.bus, self.coord, self.faulty.as_store(), self.settings(record_retry=FAST), broker)
        gateway.start()
        self.gateways.append(gateway)
        assert gateway.wait_ready(TIMEOUT)
        return gateway

    def letters(self, topic: str, count: int) -> list[DeadLetter]:
        reader = self.bus.consumer(f"dlq-{uuid.uuid4().hex}", [self.topics.dlq(topic)], "earliest", CONSUMER)
        found: list[DeadLetter] = []

        def enough() -> bool:
            found.extend(dead_letters.decode(r.value) for r in reader.poll(100, 0.05))
            return len(found) >= count

        try:
            wait_until(enough, TIMEOUT, f"{count} dead letters on {topic}.dlq")
        finally:
            reader.close()
        return found


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "embedded":
        urls = (f"memory://{uuid.uuid4().hex}", f"memory://{uuid.uuid4().hex}", f"sqlite:///{tmp_path}/gw.db")
    else:
        urls = tuple(request.getfixturevalue(name) for name in ("kafka_url", "redis_url", "postgres_url"))
    bus, coord, store = open_bus(urls[0]), open_coordination(urls[1]), open_store(urls[2])
    r = Rig(Harness(bus, coord, store))
    try:
        yield r
    finally:
        r.close()
        store.close()
        coord.close()
        bus.close()


def loops_alive(gateway: TradeGateway) -> bool:
    names = {t.name for t in threading.enumerate() if t.is_alive()}
    return {f"{gateway.gateway_id}-orders", f"{gateway.gateway_id}-market"} <= names


def test_an_order_the_broker_raises_on_is_dead_lettered_rejected_and_the_next_executes(rig: Rig) -> None:
    gateway = rig.start_faulty()
    pid = rig.pid()
    rig.fence(pid, 1)
    rig.send(order(pid, 1, qty=str(POISON_QTY)))
    rig.send(order(pid, 2))  # same key: same partition, right behind it
    feedback = rig.wait_for(pid, 2)
    assert [(fb.client_order_id, fb.status) for fb in feedback] == [(f"{pid}-1-1", REJ), (f"{pid}-1-2", ACC)]
    assert feedback[0].reason == "failed: defect: ValueError: venue cannot take quantity 13"
    (letter,) = rig.letters(rig.topics.orders, 1)
    assert letter.reason == "defect: ValueError: venue cannot take quantity 13" and letter.component == "gateway"
    assert rig.journal.record_order_calls[f"{pid}-1-1"] == 1  # a defect is not retried
    assert gateway.stats.failed_orders == 1 and gateway.stats.loop_errors == 0
    assert gateway.counters()["failed_orders"] == 1 and gateway.counters()["feedback_dropped"] == 0
    rig.tick("AAA", "10")
    assert statuses(rig.wait_for(pid, 3))[-1] is FILL
    assert loops_alive(gateway)


def test_a_database_outage_retries_the_same_order_until_it_answers(rig: Rig) -> None:
    gateway = rig.start_faulty()
    pid = rig.pid()
    rig.fence(pid, 1)
    rig.journal.outage.remaining = 8  # longer than max_attempts: the probe sees the database down
    rig.send(order(pid, 1))
    rig.send(order(pid, 2))
    feedback = rig.wait_for(pid, 2)
    assert [(fb.client_order_id, fb.status) for fb in feedback] == [(f"{pid}-1-1", ACC), (f"{pid}-1-2", ACC)], feedback
    assert rig.journal.record_order_calls[f"{pid}-1-1"] == 9
    assert gateway.stats.record_retries == 8 and gateway.stats.failed_orders == 0
    assert len(rig.store.journal.orders(pid)) == 2
    assert statuses(rig.journal_feedback(pid)) == [ACC, ACC]


def test_an_order_the_database_keeps_refusing_is_dead_lettered_after_bounded_tries(rig: Rig) -> None:
    pid = rig.pid()
    refused = f"{pid}-1-1"

    def rule(o: NewOrder) -> Exception | None:
        if o.client_order_id == refused:
            return store_error(sqlalchemy.exc.DataError, "bigint out of range")
        return None

    rig.journal.rule = rule
    gateway = rig.start_faulty()
    rig.fence(pid, 1)
    rig.send(order(pid, 1))
    rig.send(order(pid, 2))
    feedback = rig.wait_for(pid, 2)
    assert [(fb.client_order_id, fb.status) for fb in feedback] == [(refused, REJ), (f"{pid}-1-2", ACC)]
    assert rig.journal.record_order_calls[refused] == FAST.max_attempts
    (letter,) = rig.letters(rig.topics.orders, 1)
    assert letter.reason.startswith("rejected: StoreError: database write failed: bigint out of range")
    assert letter.reason.endswith(f"(after {FAST.max_attempts} tries)")
    assert gateway.stats.failed_orders == 1
    rig.stop(gateway)  # the commit covered the dead-lettered record: a restart does not read it again
    rig.start_faulty()
    rig.send(order(pid, 3))
    assert statuses(rig.wait_for(pid, 3)) == [REJ, ACC, ACC]
    assert rig.journal.record_order_calls[refused] == FAST.max_attempts


def test_a_real_out_of_range_epoch_does_not_block_the_partition(rig: Rig) -> None:
    """The database's own refusal (PostgreSQL: bigint out of range; SQLite: the
    driver's overflow), or a decode refusal once the wire bounds it."""
    gateway = rig.start_faulty()
    pid = rig.pid()
    rig.fence(pid, 1)
    rig.send(order(pid, 1, epoch=2**63))
    rig.send(order(pid, 2))
    wait_until(
        lambda: (f"{pid}-1-2", ACC) in [(fb.client_order_id, fb.status) for fb in rig.of(pid)],
        TIMEOUT,
        "the order behind it accepted",
    )
    (letter,) = rig.letters(rig.topics.orders, 1)
    assert str(2**63) in letter.payload.decode()
    assert gateway.stats.failed_orders + gateway.stats.malformed_orders == 1
    assert [o.order.client_order_id for o in rig.store.journal.orders(pid)] == [f"{pid}-1-2"]


def test_a_tick_the_broker_raises_on_is_dead_lettered_and_the_rest_of_the_batch_applies(rig: Rig) -> None:
    gateway = rig.start_faulty()
    pid = rig.pid()
    rig.fence(pid, 1)
    rig.send(order(pid, 1))
    rig.wait_for(pid, 1)
    rig.tick("AAA", str(POISON_PRICE))
    rig.tick("AAA", "10")
    feedback = rig.wait_for(pid, 2)
    assert statuses(feedback) == [ACC, FILL] and feedback[1].fill_price == D("10.0000")
    (letter,) = rig.letters(rig.topics.market_data, 1)
    assert letter.reason == "defect: ArithmeticError: price 666.13 breaks the fill model"
    assert gateway.stats.failed_market == 1 and gateway.stats.loop_errors == 0
    assert loops_alive(gateway)
