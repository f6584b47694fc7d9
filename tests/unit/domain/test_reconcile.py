"""Reconciliation with the gateway journal after a crash, failover or restart."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain import FeedbackResult, Portfolio, Signal
from livecore.domain.books import Books
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback
from tests.unit.domain.helpers import fill, order_for, scripted, scripted_spec, status, tick

D = Decimal


class Journal:
    """What the gateway durably recorded."""

    def __init__(self) -> None:
        self.orders: list[NewOrder] = []
        self.feedback: list[OrderFeedback] = []

    def send(self, p: Portfolio, order: NewOrder) -> NewOrder:
        self.orders.append(order)
        p.mark_submitted(order.client_order_id)
        return order

    def report(self, p: Portfolio | None, fb: OrderFeedback) -> OrderFeedback:
        self.feedback.append(fb)
        if p is not None:
            assert p.on_feedback(fb) is FeedbackResult.APPLIED
        return fb


def same_books(a: Books, b: Books) -> None:
    assert (a.cash, a.reserved, a.realized_pnl, a.commissions) == (b.cash, b.reserved, b.realized_pnl, b.commissions)
    assert a.positions == b.positions


def test_crash_after_snapshot_orders_and_fills_come_back_from_the_journal() -> None:
    j = Journal()
    p, _ = scripted(epoch=1)
    o1 = j.send(p, order_for(p, Signal.target("AAPL", D(10)), 100))
    j.report(p, fill(o1, price=100, fill_id="f1", commission=1))
    snap = p.snapshot()
    o2 = j.send(p, order_for(p, Signal.target("MSFT", D(5)), 50, 1))
    j.report(p, status(o2, FeedbackStatus.ACCEPTED))
    j.report(p, fill(o2, 2, 50, "f2"))
    j.report(p, fill(o2, 3, 51, "f3", commission=1))
    # the node dies; another node loads the last snapshot at the next epoch
    q = Portfolio.restore(snap, p.spec, 2, "n2")
    report = q.reconcile(j.orders, j.feedback)
    assert report.adopted == [o2.client_order_id] and report.expired == []
    assert (report.applied, report.duplicates, report.refused, report.unknown) == (3, 1, 0, 0)
    same_books(q.books, p.books)
    assert order_for(q, Signal.target("AAPL", D(0)), 100, 2).client_order_id == "p1-2-3"
    again = q.reconcile(j.orders, j.feedback)  # idempotent
    assert (again.applied, again.adopted) == (0, [])


def test_adopted_open_order_keeps_its_reservation_and_later_fills_apply() -> None:
    j = Journal()
    p, _ = scripted(epoch=1)
    p.on_market(tick(100))
    snap = p.snapshot()
    o1 = j.send(p, order_for(p, Signal.target("AAPL", D(10)), 100, 1))
    q = Portfolio.restore(snap, p.spec, 2, "n2")
    q.reconcile(j.orders, j.feedback)
    assert q.books.reserved == 10 * 100 * D("1.05")
    assert q.view().open_orders[0].state == "submitted"
    assert q.on_feedback(fill(o1, price=99, fill_id="f1")) is FeedbackResult.APPLIED
    assert q.books.reserved == 0 and q.books.position_qty("AAPL") == 10


def test_old_epoch_order_the_gateway_never_got_is_expired_and_revivable() -> None:
    p, _ = scripted(epoch=1)
    lost = order_for(p, Signal.target("AAPL", D(10)), 100)  # recorded, never delivered
    snap = p.snapshot()
    q = Portfolio.restore(snap, p.spec, 2, "n2")
    report = q.reconcile([], [])
    assert report.expired == [lost.client_order_id]
    assert q.books.reserved == 0 and q.view().open_orders == [] and q.drain_outbox() == []
    # the gateway refuses it if it ever arrives: that confirms the inference
    confirm = status(lost, FeedbackStatus.REJECTED, "stale_epoch")
    assert q.on_feedback(confirm) is FeedbackResult.APPLIED
    assert q.on_feedback(confirm) is FeedbackResult.DUPLICATE
    # had it been executed after all, the fact wins over the inference
    r = Portfolio.restore(snap, p.spec, 2, "n2")
    r.reconcile([], [])
    assert r.on_feedback(status(lost, FeedbackStatus.ACCEPTED)) is FeedbackResult.APPLIED
    assert r.on_feedback(fill(lost, price=101, fill_id="late")) is FeedbackResult.APPLIED
    assert r.books.position_qty("AAPL") == 10 and r.books.identity_gap() == 0


def test_same_epoch_orders_not_in_the_journal_stay_in_flight() -> None:
    p, _ = scripted(epoch=1)
    order = order_for(p, Signal.target("AAPL", D(10)), 100)
    p.mark_submitted(order.client_order_id)
    q = Portfolio.restore(p.snapshot(), p.spec, 1, "n1")
    assert q.reconcile([], []).expired == []
    assert q.view().open_orders[0].state == "submitted"


def test_created_order_found_in_the_journal_becomes_submitted_and_leaves_the_outbox() -> None:
    p, _ = scripted(epoch=1)
    order = order_for(p, Signal.target("AAPL", D(10)), 100)
    p._entry.state.outbox.append(order)  # as if the snapshot was taken before the drain
    snap = p.snapshot()
    q = Portfolio.restore(snap, p.spec, 2, "n2")
    q.reconcile([order], [])
    assert q.view().open_orders[0].state == "submitted"
    assert q.drain_outbox() == []


def test_watermark_stops_forgotten_orders_from_being_booked_twice() -> None:
    j = Journal()
    p, _ = scripted(scripted_spec(extra="[settings]\nclosed_order_window = 1"))
    for i in range(3):
        o = j.send(p, order_for(p, Signal.target("AAPL", D(i + 1)), 100, i))
        j.report(p, fill(o, price=100, fill_id=f"f{i}"))
    q = Portfolio.restore(p.snapshot(), p.spec, 1, "n1")
    report = q.reconcile(j.orders, j.feedback)
    assert report.adopted == [] and report.already_booked == 2
    # the held order knows its fill; the two forgotten ones were booked: duplicates too
    assert (report.applied, report.duplicates, report.unknown) == (0, 3, 0)
    same_books(q.books, p.books)


def test_fresh_load_adopts_everything_the_journal_has() -> None:
    j = Journal()
    p, _ = scripted(epoch=1)
    o = j.send(p, order_for(p, Signal.target("AAPL", D(10)), 100))
    j.report(p, fill(o, price=100, fill_id="f1"))
    # died before the first snapshot
    q = Portfolio.create(p.spec, 2, "n2")
    report = q.reconcile(j.orders, j.feedback)
    assert report.adopted == [o.client_order_id] and report.applied == 1
    same_books(q.books, p.books)
    assert q.seq == 1


def test_other_portfolios_journal_entries_are_skipped() -> None:
    j = Journal()
    p, _ = scripted(epoch=1)
    o = order_for(p, Signal.target("AAPL", D(10)), 100)
    stranger = NewOrder(**{**{f: getattr(o, f) for f in o.__struct_fields__}, "portfolio_id": "zz"})
    q = Portfolio.create(p.spec, 2, "n2")
    report = q.reconcile([stranger], j.feedback)
    assert report.adopted == []
