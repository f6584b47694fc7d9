from livecore.node.mailbox import FeedbackItem, FeedbackTicket, Mailbox, MarketSlot, SnapshotDue, Submitted
from tests.unit.node.fakes import fill, tick


def slots(*symbols: str, start: int = 0) -> list[MarketSlot]:
    return [MarketSlot(s, tick(s, str(10 + start + i)), start + i) for i, s in enumerate(symbols)]


def test_keeps_arrival_order_and_schedules_once() -> None:
    box = Mailbox(capacity=10, feedback_capacity=10)
    assert box.put_market(slots("A", "B")) == (True, 0)
    assert box.put_market(slots("A")) == (False, 0)  # already scheduled
    batch = box.take(10)
    assert [s.symbol for s in batch.market] == ["A", "B", "A"]
    assert box.finish() is False  # empty: flag cleared
    assert box.put_market(slots("C"))[0] is True


def test_full_market_lane_conflates_per_symbol() -> None:
    box = Mailbox(capacity=3, feedback_capacity=10)
    box.put_market(slots("A", "B", "A"))
    _, conflated = box.put_market(slots("A", "B", start=100))
    assert conflated == 2
    batch = box.take(10)
    assert [s.symbol for s in batch.market] == ["A", "B", "A"]
    # the newest price replaced the latest queued event of its symbol
    assert batch.market[1].event.price == 111
    assert batch.market[2].event.price == 110
    assert batch.market[0].event.price == 10


def test_full_lane_still_takes_a_symbol_with_nothing_queued() -> None:
    box = Mailbox(capacity=2, feedback_capacity=10)
    box.put_market(slots("A", "A"))
    _, conflated = box.put_market(slots("B"))
    assert conflated == 0
    assert [s.symbol for s in box.take(10).market] == ["A", "A", "B"]


def test_control_first_and_feedback_bounded() -> None:
    box = Mailbox(capacity=10, feedback_capacity=2)
    box.put_market(slots("A"))
    first = FeedbackItem(fill("p", "f1"), FeedbackTicket(0, 1))
    assert box.put_feedback(first)[0] is True
    assert box.put_feedback(FeedbackItem(fill("p", "f2"), None))[0] is True
    assert box.put_feedback(FeedbackItem(fill("p", "f3"), None)) == (False, False)
    assert not box.has_feedback_room()
    box.put_control(Submitted("x"))  # never refused
    batch = box.take(10)
    assert batch.control[0] is first
    assert isinstance(batch.control[2], Submitted)
    assert [s.symbol for s in batch.market] == ["A"]
    assert box.has_feedback_room()


def test_take_respects_the_limit_and_finish_reports_more() -> None:
    box = Mailbox(capacity=10, feedback_capacity=10)
    box.put_market(slots("A", "B", "C"))
    assert len(box.take(2)) == 2
    assert box.finish() is True
    assert len(box.take(2)) == 1
    assert box.finish() is False


def test_close_refuses_and_returns_unapplied_feedback() -> None:
    box = Mailbox(capacity=10, feedback_capacity=10)
    item = FeedbackItem(fill("p", "f1"), FeedbackTicket(0, 1))
    box.put_feedback(item)
    box.put_control(SnapshotDue())
    assert box.close() == [item]
    assert box.closed
    assert box.put_market(slots("A")) == (False, 0)
    assert box.put_feedback(item) == (False, False)
    assert len(box) == 0


def test_at_most_one_snapshot_request_is_queued() -> None:
    box = Mailbox(capacity=10, feedback_capacity=10)
    assert box.put_control(SnapshotDue()) is True
    for _ in range(100):  # a processor that does not run does not pile these up
        assert box.put_control(SnapshotDue()) is False
    box.put_control(Submitted("x"))
    assert len(box) == 2
    assert [type(item) for item in box.take(10).control] == [SnapshotDue, Submitted]
    box.finish()
    assert box.put_control(SnapshotDue()) is True  # taken: a new request queues again
    assert len(box) == 1
