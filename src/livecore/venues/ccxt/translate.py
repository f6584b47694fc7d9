"""ccxt's order and trade structures, read once into small typed values.

Everything the tracker (``tracker.py``) needs and nothing more, with exact
decimals (``markets.to_decimal``). A structure missing what matters (an id, an
amount) reads as None and is counted by the caller, never guessed.

A trade's fee is read as a *charge*: positive when the venue took it,
negative when it paid a rebate (a maker rebate), never folded into one sign.
ccxt's unified ``fee.cost`` follows that convention for the trades it parses
from REST (it negates OKX's signed ``fee``), but ccxt.pro's OKX trades from
the ``orders`` channel carry OKX's own ``fillFee`` unchanged (negative when
charged). So for OKX the fee is read from the venue's own signed field in
``info`` (``fillFee`` on the websocket, ``fee`` on REST fills: negative =
charged, positive = rebate) and negated; elsewhere ccxt's ``fee.cost`` is
taken as it is (Binance's ``commission`` is always a charge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from livecore.venues.ccxt.markets import to_decimal

ZERO = Decimal(0)


class VenueStatus(StrEnum):
    """ccxt's unified order statuses."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


FINAL = frozenset({VenueStatus.CLOSED, VenueStatus.CANCELED, VenueStatus.EXPIRED, VenueStatus.REJECTED})


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue reports it."""

    order_id: str
    client_id: str | None
    symbol: str
    status: VenueStatus
    amount: Decimal | None
    filled: Decimal
    ts_ms: int
    trades: tuple[VenueTrade, ...] = ()


@dataclass(frozen=True, slots=True)
class VenueTrade:
    """One execution: ``fee`` is charged in ``fee_asset`` (empty when the venue
    names none: the quote)."""

    trade_id: str
    order_id: str
    symbol: str
    side: str
    amount: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    ts_ms: int
    client_id: str | None = None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# venues whose own per-fill fee fields (in ``info``, first found wins) are signed
# negative when charged, positive for a rebate
SIGNED_FEE_FIELDS: dict[str, tuple[str, ...]] = {"okx": ("fillFee", "fee")}


def _venue_fee(trade: Mapping[str, Any], fields: tuple[str, ...]) -> tuple[Decimal, str] | None:
    """The charge from the venue's own signed field, in ccxt's unified fee currency."""
    info = trade.get("info")
    raw = next((info[f] for f in fields if f in info), None) if isinstance(info, Mapping) else None
    if raw is None or raw == "":
        return _fee(trade)  # no venue field: ccxt's unified fee (positive = charged)
    signed = to_decimal(raw)
    if signed is None:
        return None
    unified = trade.get("fee") or {}
    return -signed, str(unified.get("currency") or "")


def _fee(trade: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    """The trade's charge as (amount, asset) from ccxt's unified fee (positive =
    charged, negative = rebate); several fees must share one asset."""
    fees = [f for f in (trade.get("fees") or []) if f and f.get("cost") is not None]
    if not fees and trade.get("fee") and trade["fee"].get("cost") is not None:
        fees = [trade["fee"]]
    if not fees:
        return ZERO, ""
    assets = {str(f.get("currency") or "") for f in fees}
    if len(assets) > 1:
        return None
    total = ZERO
    for f in fees:
        cost = to_decimal(f.get("cost"))
        if cost is None:
            return None
        total += cost
    return total, assets.pop()


def read_trade(trade: Mapping[str, Any], venue: str = "") -> VenueTrade | None:
    """A ccxt trade structure of ``venue`` (ccxt's exchange id), or None when it
    lacks an id, an order, an amount or a price."""
    trade_id, order_id = _text(trade.get("id")), _text(trade.get("order"))
    amount, price = to_decimal(trade.get("amount")), to_decimal(trade.get("price"))
    fields = SIGNED_FEE_FIELDS.get(venue)
    fee = _fee(trade) if fields is None else _venue_fee(trade, fields)
    if trade_id is None or order_id is None or amount is None or price is None or fee is None:
        return None
    if amount <= 0 or price <= 0:
        return None
    info = trade.get("info") or {}
    client_id = _text(trade.get("clientOrderId")) or _text(info.get("c") if isinstance(info, Mapping) else None)
    return VenueTrade(
        trade_id=trade_id,
        order_id=order_id,
        symbol=str(trade.get("symbol") or ""),
        side=str(trade.get("side") or ""),
        amount=amount,
        price=price,
        fee=fee[0],
        fee_asset=fee[1],
        ts_ms=int(trade.get("timestamp") or 0),
        client_id=client_id,
    )


def read_order(order: Mapping[str, Any], venue: str = "") -> VenueOrder | None:
    """A ccxt order structure of ``venue``, or None when it lacks an id or a known status."""
    order_id = _text(order.get("id"))
    try:
        status = VenueStatus(str(order.get("status")))
    except ValueError:
        return None
    if order_id is None:
        return None
    read = (read_trade({**raw, "order": raw.get("order") or order_id}, venue) for raw in _list(order))
    trades = tuple(t for t in read if t)
    return VenueOrder(
        order_id=order_id,
        client_id=_text(order.get("clientOrderId")),
        symbol=str(order.get("symbol") or ""),
        status=status,
        amount=to_decimal(order.get("amount")),
        filled=to_decimal(order.get("filled")) or ZERO,
        ts_ms=int(order.get("lastUpdateTimestamp") or order.get("timestamp") or 0),
        trades=trades,
    )


def _list(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    trades = order.get("trades") or []
    return [t for t in trades if isinstance(t, Mapping)]
