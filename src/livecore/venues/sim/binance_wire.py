"""Binance spot's JSON shapes and error answers, as the real venue sends them.

Pure: engine values in, plain dicts out. Amounts go out as strings with eight
decimals, ids as integers, times as integer milliseconds, as on the venue.
Every Binance code and message the simulator answers with is spelled here once.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from livecore.venues.sim.model import Fill, MarketSpec, Order, Side
from livecore.venues.sim.rules import Reason

CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
CLIENT_ID_RANGE = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
MAX_RECV_WINDOW_MS = 60_000
AHEAD_TOLERANCE_MS = 1_000


class BinanceError(Exception):
    """An error answer: HTTP status, Binance code, message (``{"code": .., "msg": ..}``)."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> BinanceError:
    return BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal(name: str, legal: str = DECIMAL_RANGE) -> BinanceError:
    return BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def not_required(name: str) -> BinanceError:
    return BinanceError(400, -1106, f"Parameter '{name}' sent when not required.")


INVALID_SYMBOL = BinanceError(400, -1121, "Invalid symbol.")
INVALID_SIDE = BinanceError(400, -1117, "Invalid side.")
INVALID_TYPE = BinanceError(400, -1116, "Invalid orderType.")
INVALID_TIF = BinanceError(400, -1115, "Invalid timeInForce.")
BAD_API_KEY_FORMAT = BinanceError(401, -2014, "API-key format invalid.")
BAD_API_KEY = BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
BAD_SIGNATURE = BinanceError(400, -1022, "Signature for this request is not valid.")
TIMESTAMP_OUTSIDE = BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
TIMESTAMP_AHEAD = BinanceError(
    400, -1021, f"Timestamp for this request was {AHEAD_TOLERANCE_MS}ms ahead of the server's time."
)
RECV_WINDOW_TOO_LARGE = BinanceError(400, -1131, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}.")
NEITHER_ORDER_ID = BinanceError(
    400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
)
UNKNOWN_ORDER_CANCEL = BinanceError(400, -2011, "Unknown order sent.")
UNKNOWN_ORDER_QUERY = BinanceError(400, -2013, "Order does not exist.")
NOT_FOUND = BinanceError(404, -1000, "An unknown error occurred while processing the request.")

_REJECTS: dict[Reason, BinanceError] = {
    Reason.INSUFFICIENT_BALANCE: BinanceError(400, -2010, "Account has insufficient balance for requested action."),
    Reason.DUPLICATE_ORDER: BinanceError(400, -2010, "Duplicate order sent."),
    Reason.MIN_NOTIONAL: BinanceError(400, -1013, "Filter failure: NOTIONAL"),
    Reason.LOT_SIZE: BinanceError(400, -1013, "Filter failure: LOT_SIZE"),
    Reason.MIN_QTY: BinanceError(400, -1013, "Filter failure: LOT_SIZE"),
    Reason.PRICE_FILTER: BinanceError(400, -1013, "Filter failure: PRICE_FILTER"),
    Reason.UNKNOWN_SYMBOL: INVALID_SYMBOL,
    Reason.BAD_REQUEST: BinanceError(400, -1104, "Not all sent parameters were read."),
}


def rejection(reason: Reason, *, cancel: bool = False) -> BinanceError:
    """The venue's answer to an engine refusal."""
    if reason is Reason.UNKNOWN_ORDER:
        return UNKNOWN_ORDER_CANCEL if cancel else UNKNOWN_ORDER_QUERY
    return _REJECTS[reason]


def rate_limited(retry_after_s: int, *, banned: bool = False, now_ms: int = 0) -> BinanceError:
    """429, or 418 once the IP is banned; both with ``Retry-After`` in seconds."""
    if banned:
        return BinanceError(
            418,
            -1003,
            "Way too much request weight used; IP banned until "
            f"{now_ms + retry_after_s * 1000}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            headers={"Retry-After": str(retry_after_s)},
        )
    return BinanceError(
        429,
        -1003,
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        headers={"Retry-After": str(retry_after_s)},
    )


def market_id(symbol: str) -> str:
    """``BTC/USDT`` -> ``BTCUSDT``."""
    return symbol.replace("/", "")


def amount(value: Decimal | None) -> str:
    """Eight decimals, as the venue prints amounts."""
    return f"{(value or Decimal(0)):.8f}"


def _filters(spec: MarketSpec) -> list[dict[str, Any]]:
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": amount(spec.min_price),
            "maxPrice": amount(spec.max_price),
            "tickSize": amount(spec.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": amount(spec.min_qty),
            "maxQty": amount(spec.max_qty),
            "stepSize": amount(spec.step_size),
        },
        {"filterType": "ICEBERG_PARTS", "limit": 10},
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": amount(Decimal(0)),
            "maxQty": amount(spec.max_qty),
            "stepSize": amount(Decimal(0)),
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": amount(spec.min_notional),
            "applyMinToMarket": True,
            "maxNotional": amount(Decimal(9_000_000)),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    ]


def symbol_info(spec: MarketSpec) -> dict[str, Any]:
    return {
        "symbol": market_id(spec.symbol),
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters(spec),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(specs: list[MarketSpec], now_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(s) for s in specs],
    }


def order_fields(order: Order) -> dict[str, Any]:
    """The fields every order answer shares."""
    return {
        "symbol": market_id(order.symbol),
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "price": amount(order.price),
        "origQty": amount(order.qty),
        "executedQty": amount(order.executed),
        "origQuoteOrderQty": amount(order.quote_qty),
        "cummulativeQuoteQty": amount(order.cum_quote),
        "status": order.status.value,
        "timeInForce": order.tif.value,
        "type": order.type.value,
        "side": order.side.value,
        "selfTradePreventionMode": "NONE",
    }


def order_query(order: Order) -> dict[str, Any]:
    """``GET /api/v3/order`` and ``openOrders``."""
    return order_fields(order) | {
        "stopPrice": amount(Decimal(0)),
        "icebergQty": amount(Decimal(0)),
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": True,
        "workingTime": order.created_ms,
    }


def order_ack(order: Order, fills: list[Fill], resp_type: str, now_ms: int) -> dict[str, Any]:
    """``POST /api/v3/order`` with ``newOrderRespType`` ACK, RESULT or FULL."""
    ack = {
        "symbol": market_id(order.symbol),
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "transactTime": now_ms,
    }
    if resp_type == "ACK":
        return ack
    result = order_fields(order) | ack | {"workingTime": order.created_ms}
    if resp_type == "FULL":
        result["fills"] = [
            {
                "price": amount(f.price),
                "qty": amount(f.qty),
                "commission": amount(f.commission),
                "commissionAsset": f.commission_asset,
                "tradeId": f.trade_id,
            }
            for f in fills
        ]
    return result


def cancel_answer(order: Order, cancel_client_id: str, now_ms: int) -> dict[str, Any]:
    """``DELETE /api/v3/order``: ``clientOrderId`` is the cancel's own id."""
    return order_fields(order) | {
        "origClientOrderId": order.client_id,
        "clientOrderId": cancel_client_id,
        "transactTime": now_ms,
    }


def my_trade(fill: Fill, order_list_id: int = -1) -> dict[str, Any]:
    return {
        "symbol": market_id(fill.symbol),
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": order_list_id,
        "price": amount(fill.price),
        "qty": amount(fill.qty),
        "quoteQty": amount(fill.quote_qty),
        "commission": amount(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": fill.time_ms,
        "isBuyer": fill.side is Side.BUY,
        "isMaker": fill.maker,
        "isBestMatch": True,
    }
