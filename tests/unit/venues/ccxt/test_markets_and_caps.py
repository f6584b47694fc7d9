"""A venue market's rules and the operator's caps, checked before an order leaves."""

from __future__ import annotations

from decimal import Decimal as D

from livecore.venues.ccxt.caps import CapGuard, VenueCaps
from livecore.venues.ccxt.markets import DECIMAL_PLACES, MarketRules, check_order, rules_from_market, to_decimal
from livecore.wire.messages import NewOrder, OrderType, Side

MARKET = {
    "symbol": "BTC/USDT",
    "id": "BTCUSDT",
    "base": "BTC",
    "quote": "USDT",
    "active": True,
    "precision": {"amount": 1e-05, "price": 0.01},
    "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "price": {"min": 0.01, "max": 1e6}, "cost": {"min": 5.0}},
}


def order(qty: str, limit: str | None = None) -> NewOrder:
    return NewOrder(
        client_order_id="p-1-1",
        portfolio_id="p",
        epoch=1,
        node_id="n",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=D(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=D(limit) if limit else None,
        created_ns=1,
    )


def test_rules_read_from_a_ccxt_market() -> None:
    rules = rules_from_market(MARKET)
    assert (rules.amount_step, rules.price_tick, rules.min_notional) == (D("0.00001"), D("0.01"), D(5))
    assert rules.max_notional is None and rules.market_id == "BTCUSDT"
    places = rules_from_market({**MARKET, "precision": {"amount": 3, "price": 2}}, DECIMAL_PLACES)
    assert (places.amount_step, places.price_tick) == (D("0.001"), D("0.01"))
    assert to_decimal(0.1) == D("0.1") and to_decimal(float("nan")) is None and to_decimal(None) is None


def test_orders_that_cannot_meet_the_rules_are_refused_with_the_reason() -> None:
    rules = rules_from_market(MARKET)
    assert check_order(order("0.001", "20000.01"), rules, None) is None
    assert check_order(order("0.000015"), rules, D(20000)).startswith("precision: quantity 0.000015")
    assert check_order(order("0.001", "20000.001"), rules, None).startswith("precision: limit price")
    assert check_order(order("0.0002"), rules, D(20000)).startswith("min_notional: 0.0002 x 20000 = 4")
    assert check_order(order("0.0002"), rules, None) is None  # no price: the venue judges the notional
    assert check_order(order("9001"), rules, D(1)).startswith("limits: quantity 9001 is above")
    assert check_order(order("1", "0.001"), rules, None).startswith("precision")
    closed = MarketRules(symbol="X/Y", market_id="XY", base="X", quote="Y", active=False)
    assert check_order(order("1"), closed, D(1)).startswith("unknown_symbol")


def test_caps_bound_notional_and_rate() -> None:
    guard = CapGuard(VenueCaps(max_notional=D(1000), orders_per_minute=2))
    minute = 60 * 10**9
    assert guard.refusal(order("0.01"), D(20000), 0) is None  # 200
    assert guard.refusal(order("0.1"), D(20000), 0).startswith("notional_cap: 0.1 x 20000 = 2000")
    assert guard.refusal(order("0.01"), None, 0).startswith("notional_cap: no price seen")
    guard.admit(0)
    guard.admit(10)
    assert guard.refusal(order("0.01"), D(1), 20).startswith("rate_cap: 2 orders")
    assert guard.refusal(order("0.01"), D(1), minute + 1) is None  # the first left the window
    assert CapGuard(VenueCaps()).refusal(order("100"), None, 0) is None
