"""Binance spot's stream events: the user data stream's ``executionReport`` and
``outboundAccountPosition``, and the public ``trade``, ``24hrMiniTicker``,
``24hrTicker`` and ``kline`` events (also the REST ``ticker/24hr`` shape).

Pure: engine values in, plain dicts out, amounts as ``binance_wire.amount``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from livecore.venues.sim.binance_wire import amount, market_id
from livecore.venues.sim.model import Execution, OrderEvent, OrderType
from livecore.venues.sim.tape import Stats, TapeUpdate


def execution_report(event: OrderEvent, now_ms: int) -> dict[str, Any]:
    """The user data stream's ``executionReport``."""
    order, fill = event.order, event.fill
    canceled = event.execution is Execution.CANCELED
    return {
        "e": "executionReport",
        "E": now_ms,
        "s": market_id(order.symbol),
        "c": event.cancel_client_id if canceled else order.client_id,
        "S": order.side.value,
        "o": order.type.value,
        "f": order.tif.value,
        "q": amount(order.qty),
        "p": amount(order.price),
        "P": amount(Decimal(0)),
        "F": amount(Decimal(0)),
        "g": -1,
        "C": order.client_id if canceled else "",
        "x": event.execution.value,
        "X": order.status.value,
        "r": "NONE",
        "i": order.order_id,
        "l": amount(fill.qty if fill else None),
        "z": amount(order.executed),
        "L": amount(fill.price if fill else None),
        "n": amount(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": event.time_ms,
        "t": fill.trade_id if fill else -1,
        "v": 0,
        "I": order.order_id * 2 + (fill.trade_id if fill else 0),
        "w": order.is_open and order.type is OrderType.LIMIT,
        "m": fill.maker if fill else False,
        "M": False,
        "O": order.created_ms,
        "Z": amount(order.cum_quote),
        "Y": amount(fill.quote_qty if fill else None),
        "Q": amount(order.quote_qty),
        "W": order.created_ms,
        "V": "NONE",
    }


def account_position(holdings: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The user data stream's ``outboundAccountPosition``."""
    return {
        "e": "outboundAccountPosition",
        "E": now_ms,
        "u": now_ms,
        "B": [{"a": a, "f": amount(h.free), "l": amount(h.locked)} for a, h in holdings.items()],
    }


def trade_event(update: TapeUpdate, now_ms: int) -> dict[str, Any]:
    t = update.trade
    return {
        "e": "trade",
        "E": now_ms,
        "s": market_id(t.symbol),
        "t": t.trade_id,
        "p": amount(t.price),
        "q": amount(t.qty),
        "T": t.time_ms,
        "m": t.buyer_maker,
        "M": True,
    }


def mini_ticker(symbol: str, stats: Stats, now_ms: int) -> dict[str, Any]:
    return {
        "e": "24hrMiniTicker",
        "E": now_ms,
        "s": market_id(symbol),
        "c": amount(stats.close),
        "o": amount(stats.open),
        "h": amount(stats.high),
        "l": amount(stats.low),
        "v": amount(stats.volume),
        "q": amount(stats.quote_volume),
    }


def ticker(symbol: str, stats: Stats, now_ms: int, *, event: bool = True) -> dict[str, Any]:
    """The ``@ticker`` stream event (``event=False``: the REST ``ticker/24hr`` shape)."""
    change = stats.close - stats.open
    percent = change / stats.open * 100 if stats.open else Decimal(0)
    weighted = stats.quote_volume / stats.volume if stats.volume else stats.close
    fields = {
        "p": amount(change),
        "P": f"{percent:.3f}",
        "w": amount(weighted),
        "x": amount(stats.open),
        "c": amount(stats.close),
        "Q": amount(stats.close_qty),
        "b": amount(stats.close),
        "B": amount(Decimal(0)),
        "a": amount(stats.close),
        "A": amount(Decimal(0)),
        "o": amount(stats.open),
        "h": amount(stats.high),
        "l": amount(stats.low),
        "v": amount(stats.volume),
        "q": amount(stats.quote_volume),
        "O": stats.open_ms,
        "C": stats.close_ms,
        "F": stats.first_trade_id,
        "L": stats.last_trade_id,
        "n": stats.count,
    }
    if event:
        return {"e": "24hrTicker", "E": now_ms, "s": market_id(symbol)} | fields
    names = {"p": "priceChange", "P": "priceChangePercent", "w": "weightedAvgPrice", "x": "prevClosePrice",
             "c": "lastPrice", "Q": "lastQty", "b": "bidPrice", "B": "bidQty", "a": "askPrice", "A": "askQty",
             "o": "openPrice", "h": "highPrice", "l": "lowPrice", "v": "volume", "q": "quoteVolume",
             "O": "openTime", "C": "closeTime", "F": "firstId", "L": "lastId", "n": "count"}  # fmt: skip
    return {"symbol": market_id(symbol)} | {names[k]: v for k, v in fields.items()}


def kline(symbol: str, interval: str, stats: Stats, now_ms: int) -> dict[str, Any]:
    return {
        "e": "kline",
        "E": now_ms,
        "s": market_id(symbol),
        "k": {
            "t": stats.open_ms,
            "T": stats.close_ms,
            "s": market_id(symbol),
            "i": interval,
            "f": stats.first_trade_id,
            "L": stats.last_trade_id,
            "o": amount(stats.open),
            "c": amount(stats.close),
            "h": amount(stats.high),
            "l": amount(stats.low),
            "v": amount(stats.volume),
            "n": stats.count,
            "x": False,
            "q": amount(stats.quote_volume),
            "V": amount(Decimal(0)),
            "Q": amount(Decimal(0)),
            "B": "0",
        },
    }
