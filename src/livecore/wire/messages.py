"""Versioned message schemas: everything that crosses a topic.

Prices and quantities are ``Decimal`` (encoded as JSON strings), never binary
floats. Timestamps are integer nanoseconds since the Unix epoch. Every struct
carries ``v`` (schema version) so a reader can refuse what it does not know.
Structs are frozen: a message is a fact, not a mutable object.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgspec

SCHEMA_VERSION = 1


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"


class FeedbackStatus(StrEnum):
    """Execution-report kinds. ``rejected``, ``filled`` and ``cancelled`` are final."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"


FILL_STATUSES = frozenset({FeedbackStatus.PARTIALLY_FILLED, FeedbackStatus.FILLED})


def _require_positive(name: str, value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")


# --- market data -------------------------------------------------------------


class Tick(msgspec.Struct, frozen=True, kw_only=True, tag="tick", tag_field="type"):
    """A trade or quote update for one symbol."""

    symbol: str
    ts_ns: int
    price: Decimal
    size: Decimal = Decimal(0)
    bid: Decimal | None = None
    ask: Decimal | None = None
    v: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("symbol must not be empty")
        _require_positive("price", self.price)


class Bar(msgspec.Struct, frozen=True, kw_only=True, tag="bar", tag_field="type"):
    """An OHLCV bar; ``ts_ns`` is the bar's close time."""

    symbol: str
    ts_ns: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)
    interval_s: int = 86_400
    v: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("symbol must not be empty")
        for name in ("open", "high", "low", "close"):
            _require_positive(name, getattr(self, name))
        if self.low > self.high:
            raise ValueError(f"low {self.low} above high {self.high}")

    @property
    def price(self) -> Decimal:
        """The bar's last price (its close), so ticks and bars mark alike."""
        return self.close


MarketEvent = Tick | Bar


# --- orders ------------------------------------------------------------------


class NewOrder(msgspec.Struct, frozen=True, kw_only=True, tag="new", tag_field="type"):
    """A request to open an order. ``client_order_id`` is ``{portfolio}-{epoch}-{seq}``."""

    client_order_id: str
    portfolio_id: str
    epoch: int
    node_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    created_ns: int
    v: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.client_order_id or not self.portfolio_id or not self.symbol:
            raise ValueError("client_order_id, portfolio_id and symbol must not be empty")
        if self.epoch < 0:
            raise ValueError("epoch must be >= 0")
        _require_positive("quantity", self.quantity)
        if self.order_type is OrderType.LIMIT:
            if self.limit_price is None:
                raise ValueError("a limit order needs limit_price")
            _require_positive("limit_price", self.limit_price)
        elif self.limit_price is not None:
            raise ValueError("a market order takes no limit_price")


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True, tag="cancel", tag_field="type"):
    """A request to cancel the open order ``client_order_id``."""

    client_order_id: str
    portfolio_id: str
    epoch: int
    node_id: str
    created_ns: int
    v: int = SCHEMA_VERSION


OrderRequest = NewOrder | CancelOrder


class OrderFeedback(msgspec.Struct, frozen=True, kw_only=True):
    """An execution report from the gateway, keyed by portfolio id.

    Fill reports carry a unique ``fill_id``, ``fill_qty`` and ``fill_price``;
    ``cumulative_qty`` is the order's filled quantity after this report.
    """

    status: FeedbackStatus
    client_order_id: str
    portfolio_id: str
    epoch: int
    symbol: str = ""
    side: Side | None = None
    venue_order_id: str | None = None
    fill_id: str | None = None
    fill_qty: Decimal | None = None
    fill_price: Decimal | None = None
    cumulative_qty: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    reason: str | None = None
    ts_ns: int = 0
    v: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.status in FILL_STATUSES:
            if not self.fill_id or self.fill_qty is None or self.fill_price is None:
                raise ValueError("a fill report needs fill_id, fill_qty and fill_price")
            _require_positive("fill_qty", self.fill_qty)
            _require_positive("fill_price", self.fill_price)
            if self.commission < 0:
                raise ValueError("commission must be >= 0")
        if self.status is FeedbackStatus.REJECTED and not self.reason:
            raise ValueError("a rejection needs a reason")


# --- schedule commands -------------------------------------------------------


class ScheduleCommand(msgspec.Struct, frozen=True, kw_only=True):
    """A signed command on ``schedule.updates``.

    The seed reads ``msg["command"]`` and ``msg["portfolio_id"]``; those names stay.
    ``signature`` is HMAC-SHA256 (hex) over the canonical encoding with an empty
    signature field (see ``wire.signing``).
    """

    command: str
    target_node: str
    portfolio_id: str | None = None
    params: dict[str, Any] = {}
    issued_at_ns: int
    nonce: str
    signature: str = ""
    v: int = SCHEMA_VERSION


class CommandAck(msgspec.Struct, frozen=True, kw_only=True):
    """A node's answer to a command, written to the coordination store under
    ``names.command_ack_key(nonce)`` so that the sender can wait for it."""

    nonce: str
    node_id: str
    command: str
    portfolio_id: str | None = None
    ok: bool
    detail: str = ""
    ts_ns: int = 0
    v: int = SCHEMA_VERSION


# --- dead letters ------------------------------------------------------------


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message that could not be processed, with the reason, on ``<topic>.dlq``."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    payload: bytes
    reason: str
    component: str
    ts_ns: int
    v: int = SCHEMA_VERSION
