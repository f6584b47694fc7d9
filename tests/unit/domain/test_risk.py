"""Each risk rule shrinks or vetoes with its reason; the kill switch halts."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain import Portfolio, Signal
from livecore.domain.pipeline import RiskNote
from livecore.wire.messages import NewOrder, OrderType, Side
from tests.unit.domain.helpers import Scripted, fill, new_orders, scripted, scripted_spec, tick

D = Decimal


def rule(cls: str, params: str = "") -> str:
    return f'\n[[risk]]\nclass = "{cls}"\nparams = {{ {params} }}\n'


def signal(p: Portfolio, sig: Signal, price: int | str = 100, i: int = 0) -> list[NewOrder]:
    strategy = p.strategy
    assert isinstance(strategy, Scripted)
    strategy.queue.append(sig)
    p.on_market(tick(price, i, sig.symbol))
    return new_orders(p)


def last_note(p: Portfolio) -> RiskNote:
    return p.view().recent_risk[-1]


def holding(risk: str, qty: int = 100, price: int = 100, **kw: str) -> Portfolio:
    p, _ = scripted(scripted_spec(risk=risk, **kw))
    [buy] = signal(p, Signal.target("AAPL", D(qty)), price)
    p.on_feedback(fill(buy, price=price, fill_id="seed"))
    return p


def test_max_position_weight_shrinks_then_vetoes() -> None:
    p, _ = scripted(scripted_spec(risk=rule("max_position_weight", "max_percent = 10")))
    [order] = signal(p, Signal.target("AAPL", D(200)))
    assert order.quantity == 100
    note = last_note(p)
    assert (note.rule, note.action, note.requested, note.allowed) == ("max_position_weight", "shrink", 200, 100)
    assert "above 10% of equity" in note.reason
    p.on_feedback(fill(order, price=100, fill_id="f1"))
    assert signal(p, Signal.target("AAPL", D(150)), 100, 1) == []
    assert last_note(p).action == "veto" and last_note(p).rule == "max_position_weight"
    assert [o.side for o in signal(p, Signal.target("AAPL", D(50)), 100, 2)] == [Side.SELL]  # reducing passes


def test_max_order_value_shrinks_to_whole_lots() -> None:
    p, _ = scripted(scripted_spec(risk=rule("max_order_value", "max_value = 5050")))
    [order] = signal(p, Signal.target("AAPL", D(100)))
    assert order.quantity == 50
    assert last_note(p).rule == "max_order_value" and "above 5050" in last_note(p).reason


def test_daily_loss_limit_halts_the_portfolio_until_reload() -> None:
    p = holding(rule("daily_loss_limit", "max_loss = 1000"))
    p.on_market(tick(95, 1))
    assert not p.halted
    p.on_market(tick(89, 2))  # loss 1100 today
    assert p.halted and "daily_loss_limit" in (p.halt_reason or "")
    assert signal(p, Signal.flat("AAPL"), 89, 3) == []
    assert p.view().counters.suppressed == 1
    p.reload(p.spec)  # the operator resumes: the day's loss is measured from here on
    assert not p.halted
    assert [o.side for o in signal(p, Signal.flat("AAPL"), 89, 4)] == [Side.SELL]


def test_daily_loss_limit_in_percent_resets_each_day() -> None:
    day = 86_400
    p = holding(rule("daily_loss_limit", "max_loss_percent = 2"))
    p.on_market(tick(99, day))  # day 1 starts at equity 100000 (100 shares marked at 100)
    p.on_market(tick(90, day + 1))  # loss 1000 today: 1.0%
    assert not p.halted
    p.on_market(tick(80, 2 * day))  # day 2 starts at 99000; loss 1000 = 1.01%: yesterday's 1% is forgotten
    assert not p.halted
    p.on_market(tick(71, 2 * day + 1))  # loss 1900 = 1.92%
    assert not p.halted
    p.on_market(tick(70, 2 * day + 2))  # loss 2000 = 2.02%
    assert p.halted


def test_no_short_shrinks_a_sell_to_the_held_quantity_and_vetoes_from_flat() -> None:
    p = holding(rule("no_short"), qty=30, extra="allow_short = true")
    [sell] = signal(p, Signal.target("AAPL", D(-20)), 100, 1)
    assert sell.quantity == 30
    assert last_note(p).rule == "no_short" and "would go short" in last_note(p).reason
    assert signal(p, Signal.target("MSFT", D(-5)), 100, 2) == []
    assert last_note(p).action == "veto"


def test_long_only_by_default_even_without_the_rule() -> None:
    p, _ = scripted()
    assert signal(p, Signal.short("AAPL")) == []
    assert last_note(p).rule == "no_short"


def test_shorting_allowed_by_spec() -> None:
    p, _ = scripted(scripted_spec(extra="allow_short = true"))
    [order] = signal(p, Signal.short("AAPL"))
    assert order.side is Side.SELL and order.quantity == 10


def test_price_band_vetoes_a_jump_and_a_far_limit() -> None:
    p, _ = scripted(scripted_spec(risk=rule("price_band", "max_deviation_percent = 10")))
    p.on_market(tick(100, 0))
    assert signal(p, Signal.target("AAPL", D(5)), 120, 1) == []
    assert last_note(p).rule == "price_band" and "20.00% from 100" in last_note(p).reason
    assert signal(p, Signal.target("AAPL", D(5), limit_price=D(150)), 121, 2) == []
    assert "150" in last_note(p).reason
    [order] = signal(p, Signal.target("AAPL", D(5), limit_price=D(125)), 121, 3)
    assert order.order_type is OrderType.LIMIT and order.limit_price == 125


def test_cash_check_shrinks_buys_to_free_cash_with_the_buffer() -> None:
    p, _ = scripted(scripted_spec(cash="1000"))
    [order] = signal(p, Signal.target("AAPL", D(100)))
    assert order.quantity == 9  # 9 * 100 * 1.05 = 945 <= 1000 < 10 * 105
    assert last_note(p).rule == "cash"
    assert signal(p, Signal.target("MSFT", D(1)), 100, 1) == []  # 55 left, needs 105
    assert last_note(p).action == "veto"


def test_rules_run_in_order_and_each_shrink_is_noted() -> None:
    risk = rule("max_order_value", "max_value = 8000") + rule("max_position_weight", "max_percent = 5")
    p, _ = scripted(scripted_spec(risk=risk))
    [order] = signal(p, Signal.target("AAPL", D(200)))
    assert order.quantity == 50
    assert [n.rule for n in p.view().recent_risk] == ["max_order_value", "max_position_weight"]
