"""The cluster kill switch in the domain: reduce-only while halted, flatten
closes every position (again after a late fill), resume lifts it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from livecore.domain.pipeline import REDUCE_ONLY, toward_zero
from livecore.domain.portfolio import MAX_FLATTEN_TRIES
from livecore.domain.strategy import Signal
from livecore.wire.messages import FeedbackStatus, Side
from tests.unit.domain.helpers import fill, new_orders, order_for, scripted, status, tick


def test_halted_the_strategy_may_reduce_but_never_open_grow_or_flip() -> None:
    p, strategy = scripted()
    p.on_feedback(fill(order_for(p, Signal.target("AAPL", Decimal(10))), price=100))
    p.set_cluster_halt("drill", False, 5)
    strategy.queue.append(Signal.target("AAPL", Decimal(20)))  # grow: vetoed
    p.on_market(tick(101, 1))
    strategy.queue.append(Signal.target("MSFT", Decimal(5)))  # open: vetoed
    p.on_market(tick(50, 2, "MSFT"))
    assert new_orders(p) == []
    assert [n.rule for n in p.view().recent_risk[-2:]] == [REDUCE_ONLY, REDUCE_ONLY]
    strategy.queue.append(Signal.target("AAPL", Decimal(-10)))  # flip: only down to flat
    p.on_market(tick(102, 3))
    [sell] = new_orders(p)
    assert (sell.side, sell.quantity) == (Side.SELL, Decimal(10))
    p.on_feedback(fill(sell, price=102))
    p.set_cluster_halt(None, False, 9)
    strategy.queue.append(Signal.target("AAPL", Decimal(3)))
    p.on_market(tick(103, 4))
    assert [o.quantity for o in new_orders(p)] == [Decimal(3)]  # resumed: trades again


def test_flatten_closes_every_position_and_a_late_fill_too() -> None:
    p, strategy = scripted()
    p.on_feedback(fill(order_for(p, Signal.target("AAPL", Decimal(10))), price=100))
    in_flight = order_for(p, Signal.target("MSFT", Decimal(4)), price=50, i=1)  # not filled yet
    p.set_cluster_halt("venue down", True, 7)
    [close] = new_orders(p)  # MSFT has an order in flight: closed once it fills
    assert (close.symbol, close.side, close.quantity) == ("AAPL", Side.SELL, Decimal(10))
    strategy.queue.append(Signal.target("AAPL", Decimal(50)))
    p.on_market(tick(99, 2))  # the strategy is not asked while flattening
    assert new_orders(p) == [] and strategy.queue
    p.on_feedback(fill(close, price=99))
    p.on_feedback(fill(in_flight, price=50))
    [cover] = new_orders(p)
    assert (cover.symbol, cover.side, cover.quantity) == ("MSFT", Side.SELL, Decimal(4))
    p.on_feedback(fill(cover, price=51))
    assert p.books.position_qty("AAPL") == 0 and p.books.position_qty("MSFT") == 0
    p.on_market(tick(98, 3))
    assert new_orders(p) == []


def test_flatten_gives_up_on_a_symbol_after_its_closing_orders_keep_failing() -> None:
    p, _ = scripted()
    p.on_feedback(fill(order_for(p, Signal.target("AAPL", Decimal(10))), price=100))
    p.set_cluster_halt("drill", True, 1)
    for i in range(MAX_FLATTEN_TRIES + 2):
        orders = new_orders(p)
        for order in orders:
            p.on_feedback(status(order, FeedbackStatus.REJECTED, "venue says no"))
        p.on_market(tick(100, i + 1))
    assert p.seq == 1 + MAX_FLATTEN_TRIES  # the opening order, then the capped closing tries


@given(st.integers(-100, 100), st.integers(-200, 200))
def test_toward_zero_never_grows_or_flips(current: int, target: int) -> None:
    reduced = toward_zero(Decimal(current), Decimal(target))
    if reduced is not None:
        assert abs(reduced) < abs(current) and reduced * current >= 0
        assert reduced == target or (target * current < 0 and reduced == 0)
