"""``Portfolio.equity_sample``: the figures of the equity curve are the view's."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain.view import EquitySample
from tests.unit.domain.helpers import create, fill, new_orders, tick

RISING = [100, 99, 98, 97, 99, 102]


def test_the_sample_carries_the_views_money_exactly() -> None:
    p = create(epoch=4)
    assert p.equity_sample() == EquitySample(
        epoch=4, equity=Decimal(100000), cash=Decimal(100000), realized_pnl=Decimal(0), unrealized_pnl=Decimal(0)
    )
    for i, px in enumerate(RISING):
        p.on_market(tick(px, i))
    [order] = new_orders(p)
    p.mark_submitted(order.client_order_id)
    p.on_feedback(fill(order, price=101, commission="1.5"))
    p.on_market(tick(Decimal("103.25"), 7))
    sample, view = p.equity_sample(), p.view()
    assert (sample.equity, sample.cash, sample.realized_pnl, sample.unrealized_pnl) == (
        view.equity,
        view.cash,
        view.realized_pnl,
        view.unrealized_pnl,
    )
    assert sample.unrealized_pnl == Decimal("22.50")  # 10 x (103.25 - 101)
