"""``livecore.testing.strategies:Probe`` (the failover benchmark's strategy): an
order on its first price after every start, a restore on a new node included,
then one every ``every`` prices."""

from __future__ import annotations

from livecore.domain import Portfolio
from tests.unit.domain.helpers import new_orders, spec, tick

PROBE = "livecore.testing.strategies:Probe"


def test_orders_on_its_first_price_after_every_start_then_at_its_pace() -> None:
    p = Portfolio.create(spec(PROBE, "every = 3, quantity = 5"), 1, "n1")
    p.on_market(tick(100, 0))
    [first] = new_orders(p)
    assert first.quantity == 5
    for i in range(1, 3):  # prices 2 and 3: not yet its pace (and an order is open)
        p.on_market(tick(100, i))
        assert new_orders(p) == []
    restored = Portfolio.restore(p.snapshot(), spec(PROBE, "every = 3, quantity = 5"), 2, "n2")
    restored.on_market(tick(101, 3))  # a new owner: its first price orders at once
    [again] = new_orders(restored)
    assert again.epoch == 2 and again.node_id == "n2"
