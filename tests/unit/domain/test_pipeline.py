"""Pipeline behaviour seen through the facade: faults, storms, switches, universe, reload."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from livecore.domain import FeedbackResult, Portfolio, Signal, SpecError
from livecore.wire.messages import CancelOrder, FeedbackStatus, NewOrder
from tests.unit.domain.helpers import fill, new_orders, order_for, scripted, spec, status, tick

D = Decimal
BOOM = "tests.unit.domain.faulty:Boom"


def boom(where: str, after: int = 0) -> Portfolio:
    return Portfolio.create(spec(BOOM, f'where = "{where}", after = {after}'), 1, "n1")


def test_strategy_exception_faults_only_this_portfolio_and_fills_still_apply() -> None:
    p = boom("on_price", after=1)
    healthy = Portfolio.create(spec(BOOM, 'where = "never"'), 1, "n1")
    p.on_market(tick(100, 0))
    [order] = new_orders(p)
    p.on_market(tick(101, 1))
    healthy.on_market(tick(101, 1))
    assert p.faulted and p.fault == "strategy.on_tick: RuntimeError: boom in on_price"
    assert not healthy.faulted
    p.on_market(tick(102, 2))  # no strategy call, no order, but the price is marked
    assert p.drain_outbox() == [] and p.books.last_prices["AAPL"] == 102
    assert p.on_feedback(fill(order, price=100)) is FeedbackResult.APPLIED
    assert p.books.position_qty("AAPL") == 10
    assert "boom in on_price" in (Portfolio.restore(p.snapshot(), p.spec, 1, "n1").fault or "")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("__init__", "strategy tests.unit.domain.faulty:Boom.__init__: ValueError: cannot build"),
        ("on_start", "strategy.on_start: RuntimeError: boom in on_start"),
    ],
)
def test_faults_while_starting(where: str, expected: str) -> None:
    p = boom(where)
    assert p.fault == expected
    p.on_market(tick(100))
    assert p.drain_outbox() == []


def test_constructor_fault_survives_a_restore_of_a_healthy_snapshot() -> None:
    healthy = boom("never")
    q = Portfolio.restore(healthy.snapshot(), spec(BOOM, 'where = "__init__"'), 1, "n1")
    assert q.fault is not None and "cannot build" in q.fault


def test_fault_in_on_fill_and_in_a_risk_rule() -> None:
    p = boom("on_fill")
    p.on_market(tick(100))
    [order] = new_orders(p)
    assert p.on_feedback(fill(order, price=100)) is FeedbackResult.APPLIED
    assert p.fault == "strategy.on_fill: RuntimeError: boom in on_fill"
    assert p.books.position_qty("AAPL") == 10

    ruled = Portfolio.create(
        spec(BOOM, 'where = "never"', risk='[[risk]]\nclass = "tests.unit.domain.faulty:Grenade"'), 1, "n1"
    )
    ruled.on_market(tick(100))
    assert ruled.fault == "risk.grenade: ZeroDivisionError: rule bug"
    assert ruled.drain_outbox() == []


@pytest.mark.parametrize("where", ["state", "unencodable"])
def test_strategy_state_failure_faults_but_snapshot_still_works(where: str) -> None:
    p = boom(where)
    data = p.snapshot()
    assert p.faulted and p.fault is not None and "strategy.state" in p.fault
    assert Portfolio.restore(data, p.spec, 1, "n1").faulted


def test_restore_failure_faults() -> None:
    p = boom("restore")
    q = Portfolio.restore(p.snapshot(), p.spec, 1, "n1")
    assert q.fault == "strategy.restore: RuntimeError: boom in restore"


def test_reload_clears_a_fault() -> None:
    p = boom("on_price")
    p.on_market(tick(100))
    assert p.faulted
    p.reload(spec(BOOM, 'where = "never"'))
    assert not p.faulted
    p.on_market(tick(100, 1))
    assert len(new_orders(p)) == 1


def test_no_new_order_while_one_is_in_flight_unless_forced() -> None:
    p, s = scripted()
    order_for(p, Signal.target("AAPL", D(10)))
    s.queue.append(Signal.target("AAPL", D(20)))
    p.on_market(tick(100, 1))
    assert p.drain_outbox() == []
    assert p.view().counters.suppressed == 1
    forced = order_for(p, Signal.target("AAPL", D(25), force=True), 100, 2)
    assert forced.quantity == 15  # counts the 10 still in flight
    s.queue.append(Signal.target("MSFT", D(5)))  # other symbols are not blocked
    p.on_market(tick(100, 3, "MSFT"))
    assert len(new_orders(p)) == 1


def test_trading_disabled_stops_orders_but_not_fills_or_prices() -> None:
    p, s = scripted()
    order = order_for(p, Signal.target("AAPL", D(10)))
    p.set_trading_enabled(False)
    assert not p.trading_enabled
    s.queue.append(Signal.target("MSFT", D(5)))
    p.on_market(tick(90, 1, "MSFT"))
    assert p.drain_outbox() == [] and p.books.last_prices["MSFT"] == 90
    assert p.on_feedback(fill(order, price=100)) is FeedbackResult.APPLIED
    p.set_trading_enabled(True)
    s.queue.append(Signal.target("MSFT", D(5)))
    p.on_market(tick(90, 2, "MSFT"))
    assert len(new_orders(p)) == 1


def test_cancel_signal_moves_open_orders_to_cancel_pending() -> None:
    p, s = scripted()
    order = order_for(p, Signal.target("AAPL", D(10)))
    s.queue.append(Signal.cancel_open("AAPL"))
    p.on_market(tick(100, 1))
    assert p.drain_outbox() == []  # still CREATED: nothing at the gateway to cancel yet
    p.mark_submitted(order.client_order_id)
    s.queue.append(Signal.cancel_open("AAPL"))
    p.on_market(tick(100, 2))
    [cancel] = p.drain_outbox()
    assert isinstance(cancel, CancelOrder) and cancel.client_order_id == order.client_order_id
    assert p.view().open_orders[0].state == "cancel_pending"
    assert p.on_feedback(fill(order, 4, 100, "f1")) is FeedbackResult.APPLIED  # the fill raced the cancel
    assert p.view().open_orders[0].state == "cancel_pending"
    assert p.on_feedback(status(order, FeedbackStatus.CANCELLED)) is FeedbackResult.APPLIED
    assert p.books.reserved == 0 and p.books.position_qty("AAPL") == 4


def test_universe_changes_are_observable() -> None:
    p = Portfolio.create(spec("tests.unit.domain.faulty:Universe", 'next = "MSFT"'), 1, "n1")
    assert p.symbols == {"AAPL"} and p.universe_version == 0
    p.on_market(tick(100))
    assert p.symbols == {"MSFT"} and p.universe_version == 1
    q = Portfolio.restore(p.snapshot(), p.spec, 1, "n1")
    assert q.symbols == {"MSFT"} and q.universe_version == 1


def test_held_symbols_stay_routed_after_leaving_the_universe() -> None:
    p, s = scripted()
    order = order_for(p, Signal.target("MSFT", D(5)), 50)
    s.set_symbols(["AAPL"])
    p.on_market(tick(100, 1))
    assert p.symbols == {"AAPL", "MSFT"}  # MSFT has an open order: keep marking it
    version = p.universe_version
    p.on_feedback(fill(order, price=50))
    assert p.symbols == {"AAPL", "MSFT"} and p.universe_version == version  # now a position
    s.queue.append(Signal.flat("MSFT"))
    p.on_market(tick(100, 2))
    [sell] = new_orders(p)
    p.on_feedback(fill(sell, price=50))
    assert p.symbols == {"AAPL"} and p.universe_version == version + 1


def test_mark_submitted_for_an_order_not_held_is_ignored() -> None:
    p, _ = scripted()
    before = p.snapshot()
    p.mark_submitted("p1-1-99")
    assert p.snapshot() == before


def test_reload_keeps_books_orders_seq_and_strategy_memory() -> None:
    p = Portfolio.create(spec("ma_crossover", "fast = 2, slow = 4"), 1, "n1")
    for i, px in enumerate([10, 10, 10, 10]):
        p.on_market(tick(px, i))
    p.reload(spec("ma_crossover", "fast = 2, slow = 4", sizer='class = "fixed"\nparams = { quantity = 7 }'))
    p.on_market(tick(11, 4))  # the windows survived: the cross happens on the same bar as before
    [order] = new_orders(p)
    assert order.quantity == 7 and order.client_order_id == "p1-1-1"


def test_reload_with_another_id_is_refused() -> None:
    p, _ = scripted()
    with pytest.raises(SpecError):
        p.reload(dataclasses.replace(p.spec, id="other"))


def test_limit_orders_reserve_at_the_limit_price() -> None:
    p, _ = scripted()
    order = order_for(p, Signal.target("AAPL", D(10), limit_price=D(95)), 100)
    assert isinstance(order, NewOrder) and order.limit_price == 95
    assert p.books.reserved == 950
