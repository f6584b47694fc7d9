"""The simulator's matching engine: fills, locks and balances move exactly."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from livecore.venues.sim import okx_wire
from livecore.venues.sim.engine import MatchingEngine
from livecore.venues.sim.model import (
    CommissionSettings,
    Execution,
    Order,
    OrderType,
    Outcome,
    Side,
    Status,
    TimeInForce,
    default_market,
)
from livecore.venues.sim.rules import Reason, Rejected
from livecore.venues.sim.venue import VenueSettings

BTC = "BTC/USDT"


def engine(commission: CommissionSettings | None = None, **balances: str) -> MatchingEngine:
    funds = {k: D(v) for k, v in (balances or {"BTC": "1", "USDT": "100000"}).items()}
    sim = MatchingEngine(markets=[default_market(BTC)], commission=commission or CommissionSettings(), balances=funds)
    sim.print_trade(BTC, D("50000"), now_ms=1)
    return sim


def place(
    sim: MatchingEngine,
    side: Side,
    qty: str,
    price: str | None = None,
    *,
    tif: TimeInForce = TimeInForce.GTC,
    client_id: str = "",
) -> tuple[Order, Outcome]:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    limit = None if price is None else D(price)
    return sim.place(symbol=BTC, side=side, type=kind, qty=D(qty), price=limit, tif=tif, client_id=client_id, now_ms=2)


def total(sim: MatchingEngine, asset: str) -> D:
    held = sim.ledger.holding(asset)
    return held.free + held.locked


def test_market_buy_fee_in_received_asset() -> None:
    sim = engine()
    order, out = place(sim, Side.BUY, "0.1")
    assert [e.execution for e in out.events] == [Execution.NEW, Execution.TRADE]
    assert order.status is Status.FILLED and order.cum_quote == D("5000")
    assert total(sim, "BTC") == D("1.0999") and total(sim, "USDT") == D("95000")


def test_sell_fee_in_quote_and_maker_rate() -> None:
    sim = engine(CommissionSettings(taker=D("0.002"), maker=D("0.001")))
    place(sim, Side.SELL, "0.5", "51000")
    assert sim.ledger.holding("BTC").locked == D("0.5")
    out = sim.print_trade(BTC, D("51500"), now_ms=3)
    (fill,) = [e.fill for e in out.events if e.fill]
    assert fill.maker and fill.price == D("51000") and fill.commission == D("25.5")
    assert total(sim, "BTC") == D("0.5") and total(sim, "USDT") == D("100000") + D("25500") - D("25.5")
    assert sim.ledger.holding("BTC").locked == 0


def test_a_negative_maker_rate_pays_a_rebate_in_okx_wire_shape() -> None:
    sim = engine(CommissionSettings(taker=D("0.001"), maker=D("-0.0002")))
    order, _ = place(sim, Side.SELL, "0.5", "51000")
    out = sim.print_trade(BTC, D("51500"), now_ms=3)
    (fill,) = [e.fill for e in out.events if e.fill]
    assert fill.maker and fill.commission == D("-5.1") and fill.commission_asset == "USDT"
    assert total(sim, "USDT") == D("100000") + D("25500") + D("5.1")  # the venue paid the rebate
    push = okx_wire.order_push(next(e for e in out.events if e.fill), [fill])
    assert (push["fillFee"], push["fillFeeCcy"], push["execType"]) == ("5.1", "USDT", "M")  # positive: a rebate
    assert (push["fee"], push["rebate"]) == ("0", "5.1")  # an order's fee holds charges only
    assert okx_wire.fill_record(fill, order.client_id)["fee"] == "5.1"
    _, taker = place(sim, Side.BUY, "0.1")
    (charged,) = [e.fill for e in taker.events if e.fill]
    assert okx_wire.fill_record(charged, "")["fee"] == "-0.0001"  # a charge is negative


def test_only_okx_can_pay_a_rebate_and_only_to_makers() -> None:
    rebate = CommissionSettings(maker=D("-0.0001"))
    assert VenueSettings(venue="okx", commission=rebate).commission.maker < 0
    with pytest.raises(ValueError, match="needs okx"):
        VenueSettings(venue="binance", commission=rebate)  # Binance's commission is always a charge
    with pytest.raises(ValueError, match="taker"):
        CommissionSettings(taker=D("-0.0001"))


def test_limit_buy_with_quote_fee_locks_the_fee_and_releases_the_rest() -> None:
    sim = engine(CommissionSettings(asset="quote"))
    order, _ = place(sim, Side.BUY, "0.1", "49000")
    assert sim.ledger.holding("USDT").locked == D("4900") * D("1.001")
    sim.print_trade(BTC, D("49000"), now_ms=3, qty=D("0.04"))  # partial
    assert sim.find(BTC, order_id=order.order_id).status is Status.PARTIALLY_FILLED
    sim.cancel(symbol=BTC, order_id=order.order_id, now_ms=4)
    assert sim.ledger.holding("USDT").locked == 0
    assert total(sim, "USDT") == D("100000") - D("1960") - D("1.96")
    assert total(sim, "BTC") == D("1.04")


def test_third_asset_fee_falls_back_to_the_received_asset() -> None:
    sim = engine(CommissionSettings(asset="BNB", asset_price=D("250")), BTC="0", USDT="10000", BNB="0.002")
    place(sim, Side.BUY, "0.01")  # 500 USDT, fee 0.5 USDT = 0.002 BNB
    assert total(sim, "BNB") == 0 and total(sim, "BTC") == D("0.01")
    place(sim, Side.BUY, "0.01")
    assert total(sim, "BTC") == D("0.01") + D("0.01") - D("0.00001")


def test_depth_walk_gives_several_fills_and_expires_the_rest() -> None:
    sim = engine()
    sim.set_depth(BTC, asks=[(D("50010"), D("0.01")), (D("50000"), D("0.02"))], bids=[])
    order, out = place(sim, Side.BUY, "0.05")
    fills = [(e.fill.price, e.fill.qty) for e in out.events if e.fill]
    assert fills == [(D("50000"), D("0.02")), (D("50010"), D("0.01"))]
    assert order.status is Status.EXPIRED and order.executed == D("0.03")
    assert out.events[-1].execution is Execution.EXPIRED
    assert total(sim, "USDT") == D("100000") - D("1000") - D("500.1")
    _, out = place(sim, Side.SELL, "0.01")  # no bids at all: nothing fills
    assert [e.execution for e in out.events] == [Execution.NEW, Execution.EXPIRED]
    sim.clear_depth(BTC)
    assert place(sim, Side.SELL, "0.01")[0].status is Status.FILLED


def test_ioc_and_fok() -> None:
    sim = engine()
    sim.set_depth(BTC, asks=[(D("50000"), D("0.01"))], bids=[])
    fok, _ = place(sim, Side.BUY, "0.02", "50000", tif=TimeInForce.FOK)
    assert fok.status is Status.EXPIRED and fok.executed == 0
    ioc, _ = place(sim, Side.BUY, "0.02", "50000", tif=TimeInForce.IOC)
    assert ioc.status is Status.EXPIRED and ioc.executed == D("0.01")
    assert sim.ledger.holding("USDT").locked == 0


@pytest.mark.parametrize(
    ("qty", "price", "reason"),
    [
        ("0.000015", "50000", Reason.LOT_SIZE),
        ("0.000001", "50000", Reason.MIN_QTY),
        ("0.01", "50000.001", Reason.PRICE_FILTER),
        ("0.00001", "40000", Reason.MIN_NOTIONAL),
        ("3", "50000", Reason.INSUFFICIENT_BALANCE),
    ],
)
def test_refusals_change_nothing(qty: str, price: str, reason: Reason) -> None:
    sim = engine()
    with pytest.raises(Rejected) as caught:
        place(sim, Side.BUY, qty, price)
    assert caught.value.reason is reason
    assert sim.orders() == [] and sim.ledger.holding("USDT").free == D("100000")


def test_market_buy_beyond_the_balance_is_refused() -> None:
    sim = engine(BTC="0", USDT="100")
    with pytest.raises(Rejected, match="insufficient"):
        place(sim, Side.BUY, "0.00201")  # 100.5 USDT
    assert place(sim, Side.BUY, "0.002")[0].status is Status.FILLED  # exactly 100 USDT
    assert total(sim, "USDT") == 0


def test_duplicate_client_id_and_unknown_orders() -> None:
    sim = engine()
    place(sim, Side.BUY, "0.01", "40000", client_id="a-1")
    with pytest.raises(Rejected, match="already used"):
        place(sim, Side.BUY, "0.01", "40000", client_id="a-1")
    sim.cancel(symbol=BTC, client_id="a-1", now_ms=3)
    with pytest.raises(Rejected) as caught:
        sim.cancel(symbol=BTC, client_id="a-1", now_ms=4)
    assert caught.value.reason is Reason.UNKNOWN_ORDER
    place(sim, Side.BUY, "0.01", "40000", client_id="a-1")  # a finished order's id may be used again
    assert [o.status for o in sim.orders()] == [Status.CANCELED, Status.NEW]
    assert sim.find(BTC, client_id="a-1").status is Status.NEW
