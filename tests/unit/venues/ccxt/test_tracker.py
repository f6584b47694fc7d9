"""The tracker turns the venue's observations into the reports a portfolio must
see, in an order it accepts: accepted first, fills once each, the final report
only after every fill."""

from __future__ import annotations

from decimal import Decimal as D

import ccxt
import ccxt.pro
import pytest

from livecore.venues.ccxt.ids import OKX_IDS, VenueIds
from livecore.venues.ccxt.tracker import OrderTracker, Phase
from livecore.venues.ccxt.translate import VenueOrder, VenueStatus, VenueTrade, read_order, read_trade
from livecore.wire.messages import FeedbackStatus as S
from livecore.wire.messages import NewOrder, OrderFeedback, Side


def new(qty: str = "1", coid: str = "p-1-1") -> NewOrder:
    return NewOrder(
        client_order_id=coid,
        portfolio_id="p",
        epoch=1,
        node_id="n",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=D(qty),
        created_ns=1,
    )


def trade(tid: str, qty: str, order_id: str = "v1", fee: str = "0", asset: str = "") -> VenueTrade:
    return VenueTrade(
        trade_id=tid,
        order_id=order_id,
        symbol="BTC/USDT",
        side="buy",
        amount=D(qty),
        price=D(100),
        fee=D(fee),
        fee_asset=asset,
        ts_ms=1,
    )


def update(tracker: OrderTracker, status: VenueStatus, filled: str, coid: str = "p-1-1", oid: str = "v1") -> VenueOrder:
    return VenueOrder(
        order_id=oid,
        client_id=tracker.ids.venue_id(coid),
        symbol="BTC/USDT",
        status=status,
        amount=D(1),
        filled=D(filled),
        ts_ms=1,
    )


def tracker() -> OrderTracker:
    return OrderTracker(venue="okx", ids=VenueIds(OKX_IDS))


def kinds(reports: list[OrderFeedback]) -> list[S]:
    return [r.status for r in reports]


def test_accepted_then_partial_fills_then_filled() -> None:
    t = tracker()
    t.add(new(), 0)
    t.order(update(t, VenueStatus.OPEN, "0"), 5)
    t.trade(trade("1", "0.4", fee="0.0004", asset="BTC"), 6)
    t.trade(trade("2", "0.6"), 7)
    reports = t.drain()
    assert kinds(reports) == [S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED]
    assert reports[1].fill_id == "okx:BTC/USDT:1" and reports[1].commission_asset == "BTC"
    assert reports[2].cumulative_qty == D(1) and reports[2].venue_order_id == "v1"
    assert t.working() == []


def test_a_trade_seen_by_the_stream_and_a_poll_is_one_fill() -> None:
    t = tracker()
    t.add(new(), 0)
    t.trade(trade("1", "0.5"), 1)  # before the venue's answer: accepted comes first
    t.trade(trade("1", "0.5"), 2)
    t.order(update(t, VenueStatus.OPEN, "0.5"), 3)
    assert kinds(t.drain()) == [S.ACCEPTED, S.PARTIALLY_FILLED]
    assert t.duplicate_trades == 1


def test_cancelled_is_held_until_every_fill_is_reported() -> None:
    t = tracker()
    t.add(new(), 0)
    t.order(update(t, VenueStatus.OPEN, "0"), 1)
    t.cancelling("p-1-1", "cancel_requested")
    t.order(update(t, VenueStatus.CANCELED, "0.3"), 2)  # the venue filled 0.3 before the cancel
    assert kinds(t.drain()) == [S.ACCEPTED]
    tracked = t.get("p-1-1")
    assert tracked is not None and tracked.phase is Phase.CLOSING and t.needs_trades() == [tracked]
    t.trade(trade("9", "0.3"), 3)
    reports = t.drain()
    assert kinds(reports) == [S.PARTIALLY_FILLED, S.CANCELLED]
    assert reports[1].reason == "cancel_requested" and reports[1].cumulative_qty == D("0.3")
    assert t.needs_trades() == []


def test_a_trade_of_an_order_not_named_yet_waits_for_its_name() -> None:
    t = tracker()
    t.add(new(), 0)
    assert t.trade(trade("1", "1", order_id="v7"), 1) is None  # no client id on the trade, no venue id yet
    assert "v7" in t.orphans and t.drain() == []
    t.order(update(t, VenueStatus.CLOSED, "1", oid="v7"), 2)
    assert kinds(t.drain()) == [S.ACCEPTED, S.FILLED] and not t.orphans


def test_rejection_only_without_acceptance_or_fills() -> None:
    t = tracker()
    t.add(new(), 0)
    t.rejected("p-1-1", "insufficient_balance: no", 1)
    assert kinds(t.drain()) == [S.REJECTED] and t.working() == []
    t.add(new(coid="p-1-2"), 0)
    t.order(update(t, VenueStatus.OPEN, "0", coid="p-1-2", oid="v2"), 1)
    t.rejected("p-1-2", "late", 2)  # the venue has it: its updates decide
    assert kinds(t.drain()) == [S.ACCEPTED]


def test_an_order_closed_short_of_its_quantity_is_cancelled_by_the_venue() -> None:
    t = tracker()
    t.add(new(), 0)
    t.order(
        VenueOrder(
            order_id="v1",
            client_id=t.ids.venue_id("p-1-1"),
            symbol="BTC/USDT",
            status=VenueStatus.EXPIRED,
            amount=D(1),
            filled=D("0.2"),
            ts_ms=1,
            trades=(trade("1", "0.2"),),
        ),
        1,
    )
    reports = t.drain()
    assert kinds(reports) == [S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCELLED] and reports[2].reason == "venue: expired"


def test_restore_continues_from_the_journal() -> None:
    t = tracker()
    order = new()
    history = [
        OrderFeedback(status=S.ACCEPTED, client_order_id="p-1-1", portfolio_id="p", epoch=1, venue_order_id="v1"),
        OrderFeedback(
            status=S.PARTIALLY_FILLED,
            client_order_id="p-1-1",
            portfolio_id="p",
            epoch=1,
            fill_id="okx:BTC/USDT:1",
            fill_qty=D("0.4"),
            fill_price=D(100),
        ),
    ]
    tracked = t.restore(order, history, 0)
    assert tracked.phase is Phase.UNKNOWN and tracked.accepted and tracked.filled == D("0.4")
    t.order(update(t, VenueStatus.CLOSED, "1"), 1)
    t.trade(trade("1", "0.4"), 2)  # journaled already
    t.trade(trade("2", "0.6"), 3)
    reports = t.drain()
    assert kinds(reports) == [S.FILLED] and reports[0].fill_id == "okx:BTC/USDT:2"


def test_ccxt_structures_are_read_exactly() -> None:
    raw_trade = {
        "id": 12,
        "order": "34",
        "symbol": "BTC/USDT",
        "side": "buy",
        "amount": 0.1,
        "price": 20000.01,
        "timestamp": 5,
        "fees": [{"cost": 0.0001, "currency": "BTC"}],
        "info": {"c": "abc"},
    }
    parsed = read_trade(raw_trade)
    assert parsed is not None
    assert (parsed.amount, parsed.price, parsed.fee, parsed.fee_asset) == (D("0.1"), D("20000.01"), D("0.0001"), "BTC")
    assert parsed.client_id == "abc" and parsed.trade_id == "12"
    assert read_trade({**raw_trade, "fees": [{"cost": 1, "currency": "BNB"}, {"cost": 1, "currency": "BTC"}]}) is None
    assert read_trade({**raw_trade, "id": None}) is None
    raw_order = {
        "id": "34",
        "clientOrderId": "abc",
        "status": "canceled",
        "filled": 0.05,
        "amount": 0.1,
        "trades": [raw_trade],
    }
    order = read_order(raw_order)
    assert order is not None and order.status is VenueStatus.CANCELED and order.filled == D("0.05")
    assert len(order.trades) == 1
    assert read_order({**raw_order, "status": "weird"}) is None


def test_trades_seen_before_a_restore_count_on_from_the_journal() -> None:
    """After a restart the catch-up may read a trade before the order is restored."""
    t = tracker()
    t.trade(trade("2", "0.6"), 1)  # the order is not followed yet: it waits
    history = [
        OrderFeedback(status=S.ACCEPTED, client_order_id="p-1-1", portfolio_id="p", epoch=1, venue_order_id="v1"),
        OrderFeedback(
            status=S.PARTIALLY_FILLED,
            client_order_id="p-1-1",
            portfolio_id="p",
            epoch=1,
            fill_id="okx:BTC/USDT:1",
            fill_qty=D("0.4"),
            fill_price=D(100),
        ),
    ]
    t.restore(new(), history, 2)
    [filled] = t.drain()
    assert filled.status is S.FILLED and filled.cumulative_qty == D(1) and not t.orphans


_OKX_FILL = {"side": "buy", "fillSz": "0.01", "fillPx": "20000", "ordId": "7", "instType": "SPOT",
             "instId": "BTC-USDT",
             "clOrdId": "a", "execType": "M", "tradeId": "9", "feeCcy": "USDT", "ts": "1"}  # fmt: skip
_OKX_PUSH = {"accFillSz": "0.01", "avgPx": "20000", "cTime": "1", "clOrdId": "a", "feeCcy": "USDT",
             "fillFeeCcy": "USDT", "fillPx": "20000", "fillSz": "0.01", "fillTime": "1", "instId": "BTC-USDT",
             "instType": "SPOT", "ordId": "7", "ordType": "limit", "px": "20000", "side": "buy", "state": "filled",
             "sz": "0.01", "tradeId": "9", "execType": "M", "uTime": "1", "tdMode": "cash"}  # fmt: skip


@pytest.mark.parametrize(("okx_fee", "charge"), [("-0.02", D("0.02")), ("0.002", D("-0.002"))])
def test_okx_fees_keep_their_sign_whichever_ccxt_path_parsed_them(okx_fee: str, charge: D) -> None:
    """OKX signs its fees (negative = charged, positive = rebate); ccxt negates them
    in REST trades but not in ccxt.pro's trades from the orders channel. Both read
    as the same charge: a rebate is never turned into a charge or back."""
    rest = ccxt.okx().parse_trade({**_OKX_FILL, "fee": okx_fee})
    pro = ccxt.pro.okx()
    push = pro.order_to_trade(pro.parse_order({**_OKX_PUSH, "fee": okx_fee, "fillFee": okx_fee}))
    assert D(str(rest["fee"]["cost"])) == charge  # ccxt's REST convention: positive = charged
    assert D(str(push["fee"]["cost"])) == -charge  # ccxt.pro's orders channel: OKX's own sign
    for structure in (rest, push):
        parsed = read_trade(structure, "okx")
        assert parsed is not None and (parsed.fee, parsed.fee_asset) == (charge, "USDT")


def test_a_unified_negative_fee_is_a_rebate() -> None:
    """ccxt's unified fee is positive when charged (Binance's commission always is);
    a negative one is read as the rebate it is, not as a charge."""
    raw = {"id": 1, "order": "2", "symbol": "BTC/USDT", "side": "buy", "amount": 1, "price": 1,
           "fee": {"cost": -0.5, "currency": "USDT"}}  # fmt: skip
    parsed = read_trade(raw, "binance")
    assert parsed is not None and parsed.fee == D("-0.5")
