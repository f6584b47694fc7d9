"""Journal report rows and the fencing admission rule."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from livecore.gateway.fencing import NO_OWNER, STALE_EPOCH, admission, is_stale
from livecore.gateway.report import journal_report
from livecore.ports.coordination import Fence
from livecore.ports.store import JournalFeedback, JournalOrder
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side


def test_admission_rule() -> None:
    fence = Fence(epoch=3, owner="n1")
    assert admission(2, fence, require_fence=True) == STALE_EPOCH
    assert admission(3, fence, require_fence=True) is None  # the current owner is never refused
    assert admission(4, fence, require_fence=True) is None
    assert admission(0, None, require_fence=True) == NO_OWNER
    assert admission(0, None, require_fence=False) is None
    assert is_stale(2, fence) and not is_stale(3, fence) and not is_stale(1, None)


def test_journal_report_rows_and_stable_json() -> None:
    order = NewOrder(
        client_order_id="p-1-1",
        portfolio_id="p",
        epoch=1,
        node_id="n",
        symbol="AAA",
        side=Side.BUY,
        quantity=D(30),
        created_ns=5,
    )
    waiting = NewOrder(
        client_order_id="p-1-2",
        portfolio_id="p",
        epoch=1,
        node_id="n",
        symbol="BBB",
        side=Side.SELL,
        quantity=D(1),
        created_ns=6,
    )

    def fb(seq: int, status: FeedbackStatus, **kw: Any) -> JournalFeedback:
        return JournalFeedback(
            seq,
            OrderFeedback(
                status=status, client_order_id="p-1-1", portfolio_id="p", epoch=1, symbol="AAA", side=Side.BUY, **kw
            ),
        )

    feedback = [
        fb(1, FeedbackStatus.ACCEPTED),
        fb(2, FeedbackStatus.PARTIALLY_FILLED, fill_id="p-1-1-f1", fill_qty=D(10), fill_price=D("10"), commission=D(1)),
        fb(3, FeedbackStatus.FILLED, fill_id="p-1-1-f2", fill_qty=D(20), fill_price=D("11"), commission=D("0.5")),
    ]
    report = journal_report([JournalOrder(order, 7), JournalOrder(waiting, 8)], feedback)
    first, second = report.orders
    assert (first.status, first.filled_qty, first.avg_price, first.commission) == (
        "filled",
        D(30),
        D("10.6667"),
        D("1.5"),
    )
    assert (second.status, second.filled_qty, second.avg_price) == ("pending", D(0), None)
    assert [(f.seq, f.fill_id, f.qty) for f in report.fills] == [(2, "p-1-1-f1", D(10)), (3, "p-1-1-f2", D(20))]
    data = report.as_json()
    assert data["orders"][0]["avg_price"] == "10.6667" and data["orders"][1]["limit_price"] is None
    assert data["fills"][1] == {
        "seq": 3,
        "fill_id": "p-1-1-f2",
        "client_order_id": "p-1-1",
        "portfolio_id": "p",
        "symbol": "AAA",
        "side": "buy",
        "qty": "20",
        "price": "11",
        "commission": "0.5",
        "ts_ns": 0,
        "commission_asset": "",
    }
