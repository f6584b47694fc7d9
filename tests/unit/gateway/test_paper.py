"""Paper broker matching on fixed price paths: fills, slippage, commission,
partial fills, cancels, IOC/DAY, restore."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from livecore.gateway.costs import CostModel
from livecore.gateway.paper import PaperBroker, PaperSettings, fill_id
from livecore.wire.messages import (
    Bar,
    FeedbackStatus,
    NewOrder,
    OrderFeedback,
    OrderType,
    Side,
    Tick,
    TimeInForce,
)

DAY = 86_400 * 10**9
T0 = 1_700_000_000 * 10**9


def order(
    seq: int = 1,
    side: Side = Side.BUY,
    qty: str = "100",
    limit: str | None = None,
    symbol: str = "AAA",
    tif: TimeInForce = TimeInForce.GTC,
) -> NewOrder:
    return NewOrder(
        client_order_id=f"p1-1-{seq}",
        portfolio_id="p1",
        epoch=1,
        node_id="n1",
        symbol=symbol,
        side=side,
        quantity=D(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=D(limit) if limit else None,
        time_in_force=tif,
        created_ns=T0,
    )


def tick(price: str, size: str = "0", ts: int = T0 + 1, symbol: str = "AAA") -> Tick:
    return Tick(symbol=symbol, ts_ns=ts, price=D(price), size=D(size))


def bar(o: str, h: str, lo: str, c: str, volume: str = "0", ts: int = T0 + 1) -> Bar:
    return Bar(symbol="AAA", ts_ns=ts, open=D(o), high=D(h), low=D(lo), close=D(c), volume=D(volume))


def statuses(reports: list[OrderFeedback]) -> list[FeedbackStatus]:
    return [r.status for r in reports]


def test_market_order_fills_at_next_price_with_slippage_and_commission() -> None:
    costs = CostModel(slippage_bps=D(10), commission_per_share=D("0.005"), commission_bps=D(1), commission_min=D(1))
    broker = PaperBroker(PaperSettings(costs=costs))
    broker.submit(order(side=Side.BUY, qty="100"), T0)
    assert statuses(broker.drain_reports()) == [FeedbackStatus.ACCEPTED]
    broker.on_market(tick("50.00"))
    (fill,) = broker.drain_reports()
    assert fill.status is FeedbackStatus.FILLED
    assert fill.fill_price == D("50.0500")  # 50 * (1 + 10/10000)
    assert fill.fill_qty == D(100) and fill.cumulative_qty == D(100)
    # 100 * 0.005 + 5005 * 1/10000 = 0.5 + 0.5005 = 1.0005 (above the 1.00 minimum)
    assert fill.commission == D("1.0005")
    assert fill.fill_id == "p1-1-1-f1"
    assert broker.open_orders() == []


def test_sell_slippage_is_against_the_trader_and_quantised_down() -> None:
    broker = PaperBroker(PaperSettings(costs=CostModel(slippage_bps=D(3))))
    broker.submit(order(side=Side.SELL, qty="10"), T0)
    broker.on_market(tick("33.3333"))
    fill = broker.drain_reports()[-1]
    # 33.3333 * 0.9997 = 33.32330001 -> floor to 0.0001
    assert fill.fill_price == D("33.3233")
    buy = PaperBroker(PaperSettings(costs=CostModel(slippage_bps=D(3))))
    buy.submit(order(side=Side.BUY, qty="10"), T0)
    buy.on_market(tick("33.3333"))
    # 33.3333 * 1.0003 = 33.34329999 -> ceiling
    assert buy.drain_reports()[-1].fill_price == D("33.3433")


def test_minimum_commission_applies_per_order() -> None:
    broker = PaperBroker(PaperSettings(costs=CostModel(commission_per_share=D("0.01"), commission_min=D(2))))
    broker.submit(order(qty="10"), T0)
    broker.on_market(tick("10"))
    assert broker.drain_reports()[-1].commission == D(2)


def test_market_order_on_bars_fills_at_the_open() -> None:
    broker = PaperBroker()
    broker.submit(order(side=Side.BUY), T0)
    broker.on_market(bar("10", "12", "9", "11"))
    assert broker.drain_reports()[-1].fill_price == D("10.0000")


def test_market_order_waits_for_its_own_symbol() -> None:
    broker = PaperBroker()
    broker.submit(order(symbol="AAA"), T0)
    broker.drain_reports()
    broker.on_market(tick("5", symbol="BBB"))
    assert broker.drain_reports() == []
    assert [o.client_order_id for o in broker.open_orders("AAA")] == ["p1-1-1"]


def test_limit_buy_rests_then_fills_at_limit_when_a_bar_crosses() -> None:
    broker = PaperBroker(PaperSettings(costs=CostModel(slippage_bps=D(50))))
    broker.submit(order(side=Side.BUY, limit="9.50"), T0)
    broker.drain_reports()
    broker.on_market(bar("10", "10.5", "9.8", "10.2"))  # never reaches 9.50
    assert broker.drain_reports() == []
    broker.on_market(bar("9.9", "10", "9.4", "9.6"))  # low crosses: fills at the limit
    fill = broker.drain_reports()[-1]
    assert fill.status is FeedbackStatus.FILLED and fill.fill_price == D("9.50")


def test_marketable_limit_fills_at_the_better_price_but_never_beyond_the_limit() -> None:
    broker = PaperBroker(PaperSettings(costs=CostModel(slippage_bps=D(100))))
    broker.submit(order(seq=1, side=Side.BUY, limit="10.05"), T0)
    broker.submit(order(seq=2, side=Side.BUY, limit="11"), T0)
    broker.drain_reports()
    broker.on_market(tick("10"))
    prices = {r.client_order_id: r.fill_price for r in broker.drain_reports()}
    assert prices == {"p1-1-1": D("10.05"), "p1-1-2": D("10.1000")}


def test_limit_sell_on_ticks() -> None:
    broker = PaperBroker()
    broker.submit(order(side=Side.SELL, limit="20"), T0)
    broker.drain_reports()
    for price in ("19", "19.99"):
        broker.on_market(tick(price))
    assert broker.drain_reports() == []
    broker.on_market(tick("20.01"))
    assert broker.drain_reports()[-1].fill_price == D("20.0100")


def test_participation_cap_gives_partial_fills_that_sum_to_the_order() -> None:
    costs = CostModel(commission_per_share=D("0.01"), commission_min=D("1.5"))
    broker = PaperBroker(PaperSettings(costs=costs, participation=D("0.1")))
    broker.submit(order(qty="250"), T0)
    broker.drain_reports()
    for i, size in enumerate(("1000", "1000", "5", "1000")):
        broker.on_market(tick(f"{10 + i}", size=size, ts=T0 + i + 1))
    fills = broker.drain_reports()
    assert statuses(fills) == [
        FeedbackStatus.PARTIALLY_FILLED,
        FeedbackStatus.PARTIALLY_FILLED,
        FeedbackStatus.FILLED,
    ]  # the 5-share tick allows 0.5 -> floored to 0: no fill
    assert [f.fill_qty for f in fills] == [D(100), D(100), D(50)]
    assert sum(f.fill_qty or 0 for f in fills) == D(250)
    assert [f.cumulative_qty for f in fills] == [D(100), D(200), D(250)]
    assert [f.fill_id for f in fills] == [fill_id("p1-1-1", n) for n in (1, 2, 3)]
    # per-order minimum: 1.00 raw -> 1.50; then 2.00 total (+0.50); then 2.50 (+0.50)
    assert [f.commission for f in fills] == [D("1.5"), D("0.5"), D("0.5")]
    value = sum((f.fill_qty or 0) * (f.fill_price or 0) for f in fills)
    assert sum(f.commission for f in fills) == costs.total_commission(D(250), D(value))


def test_participation_budget_is_shared_in_arrival_order() -> None:
    broker = PaperBroker(PaperSettings(participation=D("0.5")))
    broker.submit(order(seq=1, qty="30"), T0)
    broker.submit(order(seq=2, qty="30"), T0)
    broker.drain_reports()
    broker.on_market(tick("10", size="40"))
    fills = broker.drain_reports()
    assert [(f.client_order_id, f.fill_qty) for f in fills] == [("p1-1-1", D(20))]
    broker.on_market(tick("10", size="100"))
    fills = broker.drain_reports()
    assert [(f.client_order_id, f.fill_qty) for f in fills] == [("p1-1-1", D(10)), ("p1-1-2", D(30))]


def test_zero_volume_means_no_cap() -> None:
    broker = PaperBroker(PaperSettings(participation=D("0.01")))
    broker.submit(order(qty="1000"), T0)
    broker.on_market(bar("10", "10", "10", "10", volume="0"))
    assert broker.drain_reports()[-1].status is FeedbackStatus.FILLED


def test_cancel_resting_order_reports_cancelled_with_filled_quantity() -> None:
    broker = PaperBroker(PaperSettings(participation=D("0.1")))
    broker.submit(order(qty="100", limit="10"), T0)
    broker.on_market(tick("9", size="300"))
    assert broker.cancel("p1-1-1", T0 + 5)
    reports = broker.drain_reports()
    assert statuses(reports) == [
        FeedbackStatus.ACCEPTED,
        FeedbackStatus.PARTIALLY_FILLED,
        FeedbackStatus.CANCELLED,
    ]
    assert reports[-1].cumulative_qty == D(30) and reports[-1].reason == "cancel_requested"
    assert not broker.cancel("p1-1-1", T0 + 6)  # already final
    assert not broker.cancel("nope", T0 + 6)
    broker.on_market(tick("9", size="300"))
    assert broker.drain_reports() == []


def test_ioc_gets_one_event() -> None:
    broker = PaperBroker(PaperSettings(participation=D("0.5")))
    broker.submit(order(seq=1, qty="100", tif=TimeInForce.IOC), T0)
    broker.submit(order(seq=2, qty="100", limit="5", tif=TimeInForce.IOC), T0)
    broker.drain_reports()
    broker.on_market(tick("10", size="100"))
    reports = broker.drain_reports()
    assert [(r.client_order_id, r.status, r.cumulative_qty) for r in reports] == [
        ("p1-1-1", FeedbackStatus.PARTIALLY_FILLED, D(50)),
        ("p1-1-1", FeedbackStatus.CANCELLED, D(50)),
        ("p1-1-2", FeedbackStatus.CANCELLED, D(0)),
    ]
    assert broker.open_orders() == []


def test_day_order_expires_on_a_later_day() -> None:
    broker = PaperBroker()
    broker.submit(order(limit="5", tif=TimeInForce.DAY), T0)
    broker.on_market(tick("10", ts=T0 + 1))
    broker.on_market(tick("10", ts=T0 + DAY))
    reports = broker.drain_reports()
    assert statuses(reports) == [FeedbackStatus.ACCEPTED, FeedbackStatus.CANCELLED]
    assert reports[-1].reason == "day_expired"


def test_duplicate_submit_is_rejected_by_the_broker() -> None:
    broker = PaperBroker()
    broker.submit(order(), T0)
    broker.submit(order(), T0)
    reports = broker.drain_reports()
    assert statuses(reports) == [FeedbackStatus.ACCEPTED, FeedbackStatus.REJECTED]
    assert reports[1].reason == "duplicate_client_order_id"


def test_restore_continues_fill_numbering_and_commission() -> None:
    costs = CostModel(commission_per_share=D("0.01"), commission_min=D(1))
    settings = PaperSettings(costs=costs, participation=D("0.1"))
    first = PaperBroker(settings)
    first.submit(order(qty="200"), T0)
    first.on_market(tick("10", size="1000"))
    history = first.drain_reports()
    assert history[-1].cumulative_qty == D(100)

    second = PaperBroker(settings)
    second.restore(order(qty="200"), history)
    assert [o.client_order_id for o in second.open_orders()] == ["p1-1-1"]
    second.on_market(tick("11", size="1000"))
    (fill,) = second.drain_reports()
    assert fill.fill_id == "p1-1-1-f2" and fill.status is FeedbackStatus.FILLED
    assert fill.cumulative_qty == D(200)
    assert fill.commission == D("1.00")  # total 2.00, 1.00 charged already


def test_restore_of_a_fully_filled_order_does_nothing() -> None:
    broker = PaperBroker()
    broker.submit(order(qty="5"), T0)
    broker.on_market(tick("10"))
    history = broker.drain_reports()
    again = PaperBroker()
    again.restore(order(qty="5"), history)
    assert again.open_orders() == []


@pytest.mark.parametrize("bad", [{"slippage_bps": D(-1)}, {"slippage_bps": D(10_000)}, {"price_quantum": D(0)}])
def test_cost_model_refuses_bad_settings(bad: dict[str, D]) -> None:
    with pytest.raises(ValueError):
        CostModel(**bad)


def test_participation_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="participation"):
        PaperSettings(participation=D("1.5"))


def test_fees_charged_in_the_received_asset_as_spot_venues_do() -> None:
    """``fee_asset="received"``: a buy pays in the base (converted at the fill price),
    a sell in the quote; the domain books take the first from the position."""
    broker = PaperBroker(PaperSettings(costs=CostModel(commission_bps=D(10)), fee_asset="received"))
    broker.submit(order(seq=1, side=Side.BUY, qty="0.5", symbol="BTC/USDT"), T0)
    broker.submit(order(seq=2, side=Side.SELL, qty="0.25", symbol="BTC/USDT"), T0)
    broker.drain_reports()
    broker.on_market(tick("20000", symbol="BTC/USDT"))
    buy, sell = broker.drain_reports()
    assert (buy.commission, buy.commission_asset) == (D("0.0005"), "BTC")  # 10 USDT at 20000
    assert (sell.commission, sell.commission_asset) == (D("5.0000"), "")


def test_fees_charged_in_the_base_on_both_sides() -> None:
    """``fee_asset="base"``: buys and sells pay in the base; the position pays."""
    broker = PaperBroker(PaperSettings(costs=CostModel(commission_bps=D(10)), fee_asset="base"))
    broker.submit(order(seq=1, side=Side.BUY, qty="0.5", symbol="BTC/USDT"), T0)
    broker.submit(order(seq=2, side=Side.SELL, qty="0.25", symbol="BTC/USDT"), T0)
    broker.drain_reports()
    broker.on_market(tick("20000", symbol="BTC/USDT"))
    buy, sell = broker.drain_reports()
    assert (buy.commission, buy.commission_asset) == (D("0.0005"), "BTC")
    assert (sell.commission, sell.commission_asset) == (D("0.00025"), "BTC")  # 5 USDT at 20000


def test_fees_in_a_third_asset_are_converted_at_its_price() -> None:
    settings = PaperSettings(costs=CostModel(commission_bps=D(10)), fee_asset="BNB", fee_asset_price=D(400))
    broker = PaperBroker(settings)
    broker.submit(order(side=Side.BUY, qty="0.5", symbol="BTC/USDT"), T0)
    broker.drain_reports()
    broker.on_market(tick("20000", symbol="BTC/USDT"))
    (fill,) = broker.drain_reports()
    assert (fill.commission, fill.commission_asset) == (D("0.025"), "BNB")


def test_a_third_fee_asset_needs_its_price() -> None:
    with pytest.raises(ValueError, match="fee_asset_price"):
        PaperSettings(fee_asset="BNB")
