"""The gateway tells the operator about rejections (and, when asked, fills) once
each, after they are journaled and published; and about a portfolio it halts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy.exc

from livecore.adapters.factory import open_bus, open_store
from livecore.faults import RetryPolicy
from livecore.gateway.publisher import FeedbackPublisher
from livecore.notify import DEFAULT_KINDS, NoticeKind
from livecore.ports.bus import Bus
from livecore.ports.store import Store, StoreError
from livecore.testing.receiver import RecordingSink
from livecore.wire.messages import FeedbackStatus, OrderFeedback, Side
from tests.faulty import store_error
from tests.unit.gateway.test_publisher_refusals import RefusingJournal, accepted

TOPIC = "orders.feedback"


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[tuple[Bus, Store]]:
    bus, store = open_bus(f"memory://{uuid.uuid4().hex}"), open_store(f"sqlite:///{tmp_path}/pub.db")
    bus.create_topics({TOPIC: 1, TOPIC + ".dlq": 1})
    yield bus, store
    store.close()
    bus.close()


def rejected(coid: str) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.REJECTED,
        client_order_id=coid,
        portfolio_id="p",
        epoch=1,
        symbol="AAA",
        side=Side.BUY,
        reason="stale_epoch",
    )


def filled(coid: str, fill_id: str) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=coid,
        portfolio_id="p",
        epoch=1,
        symbol="AAA",
        side=Side.SELL,
        fill_id=fill_id,
        fill_qty=Decimal(3),
        fill_price=Decimal("101.5"),
        cumulative_qty=Decimal(3),
    )


def publisher(bus: Bus, store: Store, sink: RecordingSink, **kw: object) -> FeedbackPublisher:
    return FeedbackPublisher(
        producer=bus.producer(),  # type: ignore[arg-type]
        journal=kw.pop("journal", store.journal),  # type: ignore[arg-type]
        feedback_topic=TOPIC,
        policy=RetryPolicy(max_attempts=2),
        notices=sink,
    )


def test_a_rejection_is_told_once_and_a_fill_only_when_fills_are_wanted(backends: tuple[Bus, Store]) -> None:
    bus, store = backends
    quiet, loud = RecordingSink(), RecordingSink(DEFAULT_KINDS | {NoticeKind.FILL})
    for name, sink in (("q", quiet), ("l", loud)):
        pub = publisher(bus, store, sink)
        pub.emit([accepted(f"{name}-a"), rejected(f"{name}-r"), filled(f"{name}-f", f"{name}-x")])
        assert pub.settle(5.0)
        pub.republish([rejected(f"{name}-r")])  # the answer to a resend: not told again
    assert quiet.of(NoticeKind.REJECTION) == ["p: order q-r buy AAA rejected: stale_epoch"]
    assert quiet.of(NoticeKind.FILL) == []
    assert loud.of(NoticeKind.FILL) == ["p: filled sell 3 AAA @ 101.5 (order l-f, fill l-x)"]
    assert [n.kind for n in quiet.notices] == [NoticeKind.REJECTION]


def test_a_rejection_not_yet_journaled_is_not_told_yet(backends: tuple[Bus, Store]) -> None:
    bus, store = backends
    sink = RecordingSink()
    outage = RefusingJournal(store.journal, "r1", lambda: store_error(sqlalchemy.exc.OperationalError, "refused"))
    pub = publisher(bus, store, sink, journal=outage)
    with pytest.raises(StoreError):
        pub.emit([rejected("r1")])
    assert sink.notices == []


def test_a_portfolio_halted_at_the_gateway_is_a_fault(backends: tuple[Bus, Store]) -> None:
    bus, store = backends
    sink = RecordingSink()
    refusing = RefusingJournal(store.journal, "a1", lambda: store_error(sqlalchemy.exc.DataError, "too long"))
    pub = publisher(bus, store, sink, journal=refusing)
    with pytest.raises(StoreError):
        pub.emit([accepted("a1")])
    pub.flush_pending()  # the second refusal: held, portfolio halted
    assert pub.halted("p") is not None
    (fault,) = sink.of(NoticeKind.FAULT)
    assert fault.startswith("p: halted at the gateway: report not journaled")
