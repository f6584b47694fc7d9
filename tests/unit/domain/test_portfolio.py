"""Portfolio facade: the order flow a node drives, end to end without I/O."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain import FeedbackResult, OrderState, Portfolio
from livecore.domain.snapshot import state_json
from livecore.wire.messages import FeedbackStatus, Side
from tests.unit.domain.helpers import PID, create, fill, new_orders, status, tick

RISING = [100, 99, 98, 97, 99, 102]  # fast MA crosses above slow on the last price


def test_ma_cross_emits_a_recorded_buy_with_deterministic_id() -> None:
    p = create(epoch=3)
    for i, px in enumerate(RISING):
        p.on_market(tick(px, i))
    [order] = new_orders(p)
    assert order.client_order_id == f"{PID}-3-1"
    assert order.side is Side.BUY and order.quantity == 10
    assert order.created_ns == 5 * 1_000_000_000  # the triggering event's time, no clock
    assert p.view().open_orders[0].state == OrderState.CREATED
    assert p.books.reserved == Decimal(10) * 102 * Decimal("1.05")


def test_fill_books_once_and_duplicate_is_a_noop() -> None:
    p = create()
    for i, px in enumerate(RISING):
        p.on_market(tick(px, i))
    [order] = new_orders(p)
    p.mark_submitted(order.client_order_id)
    report = fill(order, price=101, commission="1.5")
    assert p.on_feedback(report) is FeedbackResult.APPLIED
    before = p.snapshot()
    assert p.on_feedback(report) is FeedbackResult.DUPLICATE
    assert state_json(p.snapshot()).replace(b'"duplicates":1', b'"duplicates":0') == state_json(before)
    v = p.view()
    assert v.cash == Decimal(100000) - 1010 - Decimal("1.5")
    assert v.reserved == 0
    assert v.positions["AAPL"].quantity == 10
    assert p.books.identity_gap() == 0


def test_feedback_for_created_order_is_accepted_as_submitted() -> None:
    p = create()
    for i, px in enumerate(RISING):
        p.on_market(tick(px, i))
    [order] = new_orders(p)
    assert p.on_feedback(status(order, FeedbackStatus.ACCEPTED)) is FeedbackResult.APPLIED
    p.mark_submitted(order.client_order_id)  # late delivery confirmation: no-op
    assert p.view().open_orders[0].state == "accepted"


def test_snapshot_restore_roundtrip_is_byte_identical() -> None:
    p = create()
    for i, px in enumerate(RISING):
        p.on_market(tick(px, i))
    data = p.snapshot()
    q = Portfolio.restore(data, p.spec, 1, "n1")
    assert q.snapshot() == data
    assert q.drain_outbox() == p.drain_outbox()
