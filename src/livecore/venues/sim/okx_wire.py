"""OKX v5 spot's JSON shapes and error answers, as the real venue sends them.

Pure: engine values in, plain dicts out. OKX sends every number as a string
(times too, in milliseconds), wraps answers in ``{"code", "msg", "data"}``
and reports a fill's fee signed (``fillFee``, a fill's ``fee``: negative when
charged, positive for a maker rebate; an order's ``fee`` holds only its
charges and ``rebate`` its rebates, as on spot). Every OKX code and message the
simulator answers with is spelled here once.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from livecore.venues.sim.model import Fill, MarketSpec, Order, OrderEvent, OrderType, Side, Status, TimeInForce
from livecore.venues.sim.rules import Reason
from livecore.venues.sim.tape import Stats, TapeUpdate

CLIENT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
TIMESTAMP_WINDOW_MS = 30_000
MAX_LIMIT = 100


class OkxError(Exception):
    """An error answer: HTTP status, OKX code, message; ``per_order``: inside ``data``
    as ``sCode``/``sMsg`` under code "1", as a failed order operation is reported."""

    def __init__(self, status: int, code: str, msg: str, *, per_order: bool = False) -> None:
        super().__init__(f"{code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.per_order = per_order

    def body(self, now_ms: int, client_id: str = "") -> dict[str, Any]:
        if not self.per_order:
            return {"code": self.code, "msg": self.msg, "data": []}
        item = {"clOrdId": client_id, "ordId": "", "sCode": self.code, "sMsg": self.msg, "tag": "", "ts": str(now_ms)}
        times = {"inTime": str(now_ms), "outTime": str(now_ms)}
        return {"code": "1", "msg": "All operations failed", "data": [item]} | times


def parameter(name: str) -> OkxError:
    return OkxError(400, "51000", f"Parameter {name} error")


def order_error(code: str, msg: str) -> OkxError:
    return OkxError(200, code, msg, per_order=True)


MISSING_KEY = OkxError(401, "50103", "Request header OK-ACCESS-KEY cannot be empty.")
BAD_KEY = OkxError(401, "50111", "Invalid OK-ACCESS-KEY.")
BAD_PASSPHRASE = OkxError(401, "50105", "Invalid OK-ACCESS-PASSPHRASE.")
BAD_TIMESTAMP = OkxError(401, "50112", "Invalid OK-ACCESS-TIMESTAMP.")
EXPIRED = OkxError(401, "50102", "Timestamp request expired.")
BAD_SIGN = OkxError(401, "50113", "Invalid Sign.")
RATE_LIMITED = OkxError(429, "50011", "Too Many Requests")
NO_INSTRUMENT = OkxError(200, "51001", "Instrument ID does not exist.")
ORDER_NOT_FOUND = OkxError(200, "51603", "Order does not exist")
CANCEL_FAILED = order_error(
    "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
)
NOT_FOUND = OkxError(404, "50000", "Body for POST request cannot be empty.")

_REJECTS: dict[Reason, OkxError] = {
    Reason.MIN_NOTIONAL: order_error("51020", "Your order should meet or exceed the minimum order amount."),
    Reason.MIN_QTY: order_error("51020", "Your order should meet or exceed the minimum order amount."),
    Reason.LOT_SIZE: order_error("51121", "Order quantity must be a multiple of the lot size."),
    Reason.PRICE_FILTER: order_error("51000", "Parameter px error"),
    Reason.DUPLICATE_ORDER: order_error("51016", "Duplicated clOrdId"),
    Reason.UNKNOWN_SYMBOL: order_error("51001", "Instrument ID does not exist."),
    Reason.UNKNOWN_ORDER: ORDER_NOT_FOUND,
    Reason.BAD_REQUEST: order_error("51000", "Parameter sz error"),
}


def rejection(reason: Reason, paid_asset: str = "") -> OkxError:
    """The venue's answer to an engine refusal of an order."""
    if reason is Reason.INSUFFICIENT_BALANCE:
        return order_error("51008", f"Order failed. Insufficient {paid_asset} balance in account.")
    return _REJECTS[reason]


def ok(data: list[Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


def inst_id(symbol: str) -> str:
    """``BTC/USDT`` -> ``BTC-USDT``."""
    return symbol.replace("/", "-")


def num(value: Decimal | None) -> str:
    """A number as OKX prints it: plain, no exponent, no trailing zeros; "" for none."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def instrument(spec: MarketSpec) -> dict[str, Any]:
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": spec.base,
        "category": "1",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "instFamily": "",
        "instId": inst_id(spec.symbol),
        "instType": "SPOT",
        "lever": "",
        "listTime": "1606468572000",
        "lotSz": num(spec.step_size),
        "maxIcebergSz": num(spec.max_qty),
        "maxLmtAmt": "20000000",
        "maxLmtSz": num(spec.max_qty),
        "maxMktAmt": "1000000",
        "maxMktSz": num(spec.max_qty),
        "maxStopSz": num(spec.max_qty),
        "maxTriggerSz": num(spec.max_qty),
        "maxTwapSz": num(spec.max_qty),
        "minSz": num(spec.min_qty),
        "optType": "",
        "quoteCcy": spec.quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": "live",
        "stk": "",
        "tickSz": num(spec.tick_size),
        "uly": "",
    }


_STATES = {
    Status.NEW: "live",
    Status.PARTIALLY_FILLED: "partially_filled",
    Status.FILLED: "filled",
    Status.CANCELED: "canceled",
    Status.EXPIRED: "canceled",
}
_ORD_TYPES = {TimeInForce.GTC: "limit", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}


def ord_type(order: Order) -> str:
    return "market" if order.type is OrderType.MARKET else _ORD_TYPES[order.tif]


def order_record(order: Order, fills: list[Fill]) -> dict[str, Any]:
    """An order as ``trade/order``, ``orders-pending`` and the ``orders`` channel show it."""
    fee_ccy = fills[-1].commission_asset if fills else ""
    paid = [f.commission for f in fills if f.commission_asset == fee_ccy]
    fee = sum((c for c in paid if c > 0), Decimal(0))  # OKX's spot order: charges in ``fee``, rebates apart
    rebate = sum((-c for c in paid if c < 0), Decimal(0))
    avg = order.cum_quote / order.executed if order.executed else None
    by_quote = order.quote_qty is not None
    return {
        "accFillSz": num(order.executed),
        "algoClOrdId": "",
        "algoId": "",
        "attachAlgoOrds": [],
        "avgPx": num(avg),
        "cTime": str(order.created_ms),
        "cancelSource": "",
        "category": "normal",
        "ccy": "",
        "clOrdId": order.client_id,
        "fee": num(-fee) if fills else "0",
        "feeCcy": fee_ccy,
        "fillPx": num(fills[-1].price) if fills else "",
        "fillSz": num(fills[-1].qty) if fills else "0",
        "fillTime": str(fills[-1].time_ms) if fills else "",
        "instId": inst_id(order.symbol),
        "instType": "SPOT",
        "lever": "",
        "ordId": str(order.order_id),
        "ordType": ord_type(order),
        "pnl": "0",
        "posSide": "net",
        "px": num(order.price),
        "rebate": num(rebate) if rebate else "0",
        "rebateCcy": fee_ccy,
        "reduceOnly": "false",
        "side": order.side.value.lower(),
        "source": "",
        "state": _STATES[order.status],
        "stpId": "",
        "stpMode": "cancel_maker",
        "sz": num(order.quote_qty if by_quote else order.qty),
        "tag": "",
        "tdMode": "cash",
        "tgtCcy": "quote_ccy" if by_quote else ("base_ccy" if order.type is OrderType.MARKET else ""),
        "tradeId": str(fills[-1].trade_id) if fills else "",
        "tradeQuoteCcy": order.symbol.partition("/")[2],
        "uTime": str(order.updated_ms),
    }


def order_push(event: OrderEvent, fills: list[Fill]) -> dict[str, Any]:
    """One ``orders`` channel item: the order after the event, with the event's fill."""
    fill = event.fill
    record = order_record(event.order, fills)
    return record | {
        "tradeId": str(fill.trade_id) if fill else "",
        "fillPx": num(fill.price) if fill else "",
        "fillSz": num(fill.qty) if fill else "0",
        "fillFee": num(-fill.commission) if fill else "0",
        "fillFeeCcy": fill.commission_asset if fill else "",
        "fillTime": str(fill.time_ms) if fill else "",
        "execType": ("M" if fill.maker else "T") if fill else "",
        "amendResult": "",
        "code": "0",
        "msg": "",
        "reqId": "",
    }


def placed(order: Order, now_ms: int) -> dict[str, Any]:
    """One item of a successful ``trade/order`` or ``trade/batch-orders`` answer."""
    return {"clOrdId": order.client_id, "ordId": str(order.order_id), "sCode": "0", "sMsg": "Order placed",
            "tag": "", "ts": str(now_ms)}  # fmt: skip


def canceled(order: Order, now_ms: int) -> dict[str, Any]:
    return {"clOrdId": order.client_id, "ordId": str(order.order_id), "sCode": "0", "sMsg": "", "ts": str(now_ms)}


def fill_record(fill: Fill, client_id: str) -> dict[str, Any]:
    """One ``trade/fills`` / ``trade/fills-history`` item."""
    return {
        "billId": str(fill.trade_id),
        "clOrdId": client_id,
        "execType": "M" if fill.maker else "T",
        "fee": num(-fill.commission),
        "feeCcy": fill.commission_asset,
        "feeRate": "",
        "fillIdxPx": "",
        "fillPnl": "0",
        "fillPx": num(fill.price),
        "fillSz": num(fill.qty),
        "fillTime": str(fill.time_ms),
        "instId": inst_id(fill.symbol),
        "instType": "SPOT",
        "ordId": str(fill.order_id),
        "posSide": "net",
        "side": "buy" if fill.side is Side.BUY else "sell",
        "subType": "1" if fill.side is Side.BUY else "2",
        "tag": "",
        "tradeId": str(fill.trade_id),
        "tradeQuoteCcy": fill.symbol.partition("/")[2],
        "ts": str(fill.time_ms),
    }


def balance_detail(asset: str, free: Decimal, locked: Decimal, now_ms: int) -> dict[str, Any]:
    equity = num(free + locked)
    return {
        "availBal": num(free),
        "availEq": num(free),
        "cashBal": equity,
        "ccy": asset,
        "disEq": equity,
        "eq": equity,
        "eqUsd": equity,
        "frozenBal": num(locked),
        "ordFrozen": num(locked),
        "uTime": str(now_ms),
        "upl": "0",
    }


def public_trade(update: TapeUpdate) -> dict[str, Any]:
    t = update.trade
    side = "sell" if t.buyer_maker else "buy"
    return {"instId": inst_id(t.symbol), "tradeId": str(t.trade_id), "px": num(t.price), "sz": num(t.qty),
            "side": side, "ts": str(t.time_ms), "count": "1", "source": "0"}  # fmt: skip


def ticker(symbol: str, stats: Stats) -> dict[str, Any]:
    return {
        "instType": "SPOT",
        "instId": inst_id(symbol),
        "last": num(stats.close),
        "lastSz": num(stats.close_qty),
        "askPx": num(stats.close),
        "askSz": "0",
        "bidPx": num(stats.close),
        "bidSz": "0",
        "open24h": num(stats.open),
        "high24h": num(stats.high),
        "low24h": num(stats.low),
        "volCcy24h": num(stats.quote_volume),
        "vol24h": num(stats.volume),
        "sodUtc0": num(stats.open),
        "sodUtc8": num(stats.open),
        "ts": str(stats.close_ms),
    }


def candle(stats: Stats) -> list[str]:
    return [str(stats.open_ms), num(stats.open), num(stats.high), num(stats.low), num(stats.close),
            num(stats.volume), num(stats.quote_volume), num(stats.quote_volume), "0"]  # fmt: skip
