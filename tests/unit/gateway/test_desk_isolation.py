"""GatewayDesk, one record at a time: an event the broker raises on is returned
to the caller (who dead-letters it) and the rest of the batch is applied; a
failed order is rejected to its portfolio only when nothing ran for it.
Embedded backends (memory bus and coordination, a SQLite file)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.gateway.desk import GatewayDesk
from livecore.gateway.fencing import FenceReader
from livecore.gateway.publisher import FeedbackPublisher
from livecore.ports.bus import Record
from livecore.ports.store import Store
from livecore.wire.codec import encode
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderType, Side, Tick
from livecore.wire.names import Topics
from tests.faulty import RaisingBroker

TOPICS = Topics("")


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[GatewayDesk, Store]]:
    bus = open_bus(f"memory://{uuid.uuid4().hex}")
    coord = open_coordination(f"memory://{uuid.uuid4().hex}")
    store = open_store(f"sqlite:///{tmp_path}/desk.db")
    producer = bus.producer()
    publisher = FeedbackPublisher(producer=producer, journal=store.journal, feedback_topic=TOPICS.orders_feedback)
    broker = RaisingBroker(bad_quantity=D(13), bad_price=D("666.13"))
    yield (
        GatewayDesk(
            broker=broker,
            journal=store.journal,
            fences=FenceReader(coord),
            publisher=publisher,
            topics=TOPICS,
            require_fence=False,
        ),
        store,
    )
    producer.close()
    store.close()
    coord.close()
    bus.close()


def record(topic: str, offset: int, value: bytes) -> Record:
    return Record(topic, 0, offset, None, value, 0)


def new_order(coid: str, qty: str = "1") -> NewOrder:
    return NewOrder(
        client_order_id=coid,
        portfolio_id="p1",
        epoch=1,
        node_id="n",
        symbol="AAA",
        side=Side.BUY,
        quantity=D(qty),
        order_type=OrderType.LIMIT,
        limit_price=D("1000"),
        created_ns=1,
    )


def tick(price: str) -> bytes:
    return encode(Tick(symbol="AAA", ts_ns=1, price=D(price)))


def test_a_tick_the_broker_raises_on_does_not_drop_the_rest_of_its_batch(desk: tuple[GatewayDesk, Store]) -> None:
    d, store = desk
    d.on_order_records([record(TOPICS.orders, 0, encode(new_order("p1-1-1")))])
    batch = [record(TOPICS.market_data, 0, tick("666.13")), record(TOPICS.market_data, 1, tick("10"))]
    failed = d.on_market_records(batch)
    assert [(r.offset, type(exc).__name__) for r, exc in failed] == [(0, "ArithmeticError")]
    statuses = [e.feedback.status for e in store.journal.feedback_for_order("p1-1-1")]
    assert statuses == [FeedbackStatus.ACCEPTED, FeedbackStatus.FILLED]
    assert d.stats.market_events == 2


def test_an_order_that_failed_before_anything_ran_is_rejected(desk: tuple[GatewayDesk, Store]) -> None:
    d, store = desk
    poison = record(TOPICS.orders, 0, encode(new_order("p1-1-1", qty="13")))
    with pytest.raises(ValueError):
        d.on_order_record(poison)
    d.order_failed(poison, "defect: ValueError: no")
    (entry,) = store.journal.feedback_for_order("p1-1-1")
    assert (
        entry.feedback.status is FeedbackStatus.REJECTED and entry.feedback.reason == "failed: defect: ValueError: no"
    )
    assert d.stats.failed_orders == 1


def test_an_order_with_outcomes_is_never_rejected_after_the_fact(desk: tuple[GatewayDesk, Store]) -> None:
    d, store = desk
    good = record(TOPICS.orders, 0, encode(new_order("p1-1-1")))
    d.on_order_record(good)
    d.order_failed(good, "rejected: late failure")  # e.g. the commit failed after it ran
    assert [e.feedback.status for e in store.journal.feedback_for_order("p1-1-1")] == [FeedbackStatus.ACCEPTED]
