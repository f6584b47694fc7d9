"""The concrete failures behind the bounds, each pinned as an example."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import localcontext

import pytest

from livecore.domain import Signal
from livecore.gateway.costs import PRICING, CostModel
from livecore.gateway.paper import PaperBroker, PaperSettings
from livecore.wire import bounds, codec
from livecore.wire import messages as m
from tests.property.harness import round_trip
from tests.unit.domain.helpers import new_orders, scripted, scripted_spec


def test_absurd_tick_price_is_refused_at_decode() -> None:
    with pytest.raises(codec.MalformedMessage, match="price must be below"):
        codec.market_events.decode(b'{"type":"tick","symbol":"A","ts_ns":1,"price":"1E+30"}')


def test_epoch_beyond_64_bits_is_refused_at_decode() -> None:
    payload = (
        b'{"type":"new","client_order_id":"p-1-1","portfolio_id":"p","epoch":18446744073709551616,'
        b'"node_id":"n","symbol":"A","side":"buy","quantity":"1","created_ns":1}'
    )
    with pytest.raises(codec.MalformedMessage, match="epoch"):
        codec.order_requests.decode(payload)


def test_costs_quantize_large_values_without_raising() -> None:
    """Once ``InvalidOperation`` in the default 28-digit context."""
    costs = CostModel(slippage_bps=D(5), commission_bps=D(1))
    price = bounds.MAX_PRICE - D("1e-12")
    assert costs.slipped_price(price, m.Side.BUY) > price
    with localcontext(PRICING):
        value = price * (bounds.MAX_QUANTITY - 1)
        expected = (value / 10_000).quantize(D("0.0001"))
    assert costs.total_commission(bounds.MAX_QUANTITY - 1, value) == expected


def _order(coid: str = "p-1-1", side: m.Side = m.Side.BUY) -> m.NewOrder:
    return m.NewOrder(
        client_order_id=coid,
        portfolio_id="p",
        epoch=1,
        node_id="n",
        symbol="A",
        side=side,
        quantity=D(2),
        created_ns=1,
    )


def test_a_fill_the_wire_cannot_carry_cancels_the_order() -> None:
    broker = PaperBroker(PaperSettings(costs=CostModel(slippage_bps=D(10))))
    broker.submit(_order(), 1)
    broker.on_market(m.Tick(symbol="A", ts_ns=2, price=bounds.MAX_PRICE - D(1)))
    reports = broker.drain_reports()
    assert [(r.status, r.reason) for r in reports] == [
        (m.FeedbackStatus.ACCEPTED, None),
        (m.FeedbackStatus.CANCELLED, "price_out_of_bounds"),
    ]
    assert broker.open_orders() == []


def test_ids_derived_from_the_longest_client_order_id_still_decode() -> None:
    coid = "c" * bounds.MAX_ORDER_ID_LENGTH
    broker = PaperBroker()
    broker.submit(_order(coid), 1)
    broker.on_market(m.Tick(symbol="A", ts_ns=2, price=D(10)))
    reports = broker.drain_reports()
    assert [r.status for r in reports] == [m.FeedbackStatus.ACCEPTED, m.FeedbackStatus.FILLED]
    for report in reports:
        round_trip(report, codec.order_feedback)


def test_equity_sizer_on_a_tiny_price_is_shrunk_to_the_wire_bound_not_a_fault() -> None:
    """1,000,000 of cash at 1E-12 a unit is 1E+18 units: more than the wire carries."""
    spec = scripted_spec(
        cash="1000000",
        symbols='["AAPL"]',
        sizer='class = "percent_equity"\nparams = { percent = 100, lot_size = 0.000000000001 }',
    )
    portfolio, strategy = scripted(spec)
    strategy.queue.append(Signal.long("AAPL"))
    portfolio.on_market(m.Tick(symbol="AAPL", ts_ns=1, price=D("1e-12")))
    assert not portfolio.faulted, portfolio.fault
    [order] = new_orders(portfolio)
    assert order.quantity == bounds.MAX_QUANTITY - D("1e-12")
    round_trip(order, codec.order_requests)
    assert any(note.rule == "wire_bounds" for note in portfolio.view().recent_risk)
