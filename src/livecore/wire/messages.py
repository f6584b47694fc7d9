"""Versioned message schemas: everything that crosses a topic.

Prices and quantities are ``Decimal`` (encoded as JSON strings), never binary
floats. Timestamps are integer nanoseconds since the Unix epoch. Every struct
carries ``v`` (schema version) so a reader can refuse what it does not know.
Structs are frozen: a message is a fact, not a mutable object. The market-data
and order messages hold only scalars, so they cannot be part of a reference
cycle and are built with ``gc=False``: the garbage collector never scans them
(a backtest or a replay holds millions).

Every field is bounded (``wire.bounds``): integers by msgspec constraints at
decode, decimals and cross-field rules by ``__post_init__`` (at decode and on
construction alike). A payload out of bounds fails to decode with a reason
that names the field.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgspec

from livecore.wire.bounds import (
    Count,
    Id,
    IntervalS,
    Name,
    OptionalName,
    OrderId,
    Signature,
    TimestampNs,
    check_price,
    check_printable,
    check_quantity,
    check_signed_amount,
    plain_tick,
)
from livecore.wire.enums import members

SCHEMA_VERSION = 1
# the zero of the report amounts' defaults: a value that is this very object is the
# default, valid by construction, and ``OrderFeedback`` skips checking it (the
# paper broker builds its reports with it: an acceptance carries no amounts)
ZERO = Decimal(0)


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
_OrderType, _Status = members(OrderType), members(FeedbackStatus)  # cheap member reads (wire.enums)

# The string fields of each message that become ids or keys: printable only.
_SYMBOL = ("symbol",)
_CANCEL_KEYS = ("client_order_id", "portfolio_id", "node_id")
_ORDER_KEYS = (*_CANCEL_KEYS, "symbol")
_FEEDBACK_KEYS = ("client_order_id", "portfolio_id", "symbol", "venue_order_id", "fill_id", "commission_asset")
_COMMAND_KEYS = ("command", "target_node", "portfolio_id", "nonce")


# --- market data -------------------------------------------------------------


class Tick(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="tick", tag_field="type"):
    """A trade or quote update for one symbol."""

    symbol: Name
    ts_ns: TimestampNs
    price: Decimal
    size: Decimal = Decimal(0)
    bid: Decimal | None = None
    ask: Decimal | None = None
    v: Count = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.bid is None and self.ask is None and plain_tick(self.symbol, self.price, self.size):
            return  # the common tick, checked in one pass (every decoded tick runs this)
        if not self.symbol:
            raise ValueError("symbol must not be empty")
        check_printable(self, _SYMBOL, self.symbol)
        check_price("price", self.price)
        check_quantity("size", self.size, positive=False)
        if self.bid is not None:
            check_price("bid", self.bid)
        if self.ask is not None:
            check_price("ask", self.ask)


class Bar(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="bar", tag_field="type"):
    """An OHLCV bar; ``ts_ns`` is the bar's close time."""

    symbol: Name
    ts_ns: TimestampNs
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)
    interval_s: IntervalS = 86_400
    v: Count = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("symbol must not be empty")
        check_printable(self, _SYMBOL, self.symbol)
        low, high = self.low, self.high
        check_price("open", self.open)
        check_price("high", high)
        check_price("low", low)
        check_price("close", self.close)
        check_quantity("volume", self.volume, positive=False)
        if not (low <= self.open <= high and low <= self.close <= high):
            self._inconsistent()

    def _inconsistent(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low {self.low} above high {self.high}")
        name, value = ("open", self.open) if not self.low <= self.open <= self.high else ("close", self.close)
        raise ValueError(f"{name} {value} outside low-high [{self.low}, {self.high}]")

    @property
    def price(self) -> Decimal:
        """The bar's last price (its close), so ticks and bars mark alike."""
        return self.close


MarketEvent = Tick | Bar


# --- orders ------------------------------------------------------------------


class NewOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="new", tag_field="type"):
    """A request to open an order. ``client_order_id`` is ``{portfolio}-{epoch}-{seq}``."""

    client_order_id: OrderId
    portfolio_id: Name
    epoch: Count
    node_id: Name
    symbol: Name
    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    created_ns: TimestampNs
    v: Count = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.client_order_id or not self.portfolio_id or not self.symbol:
            raise ValueError("client_order_id, portfolio_id and symbol must not be empty")
        if self.epoch < 0:
            raise ValueError("epoch must be >= 0")
        check_printable(self, _ORDER_KEYS, self.client_order_id + self.portfolio_id + self.node_id + self.symbol)
        check_quantity("quantity", self.quantity)
        if self.order_type is _OrderType.LIMIT:
            if self.limit_price is None:
                raise ValueError("a limit order needs limit_price")
            check_price("limit_price", self.limit_price)
        elif self.limit_price is not None:
            raise ValueError("a market order takes no limit_price")


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="cancel", tag_field="type"):
    """A request to cancel the open order ``client_order_id``."""

    client_order_id: OrderId
    portfolio_id: Name
    epoch: Count
    node_id: Name
    created_ns: TimestampNs
    v: Count = SCHEMA_VERSION

    def __post_init__(self) -> None:
        check_printable(self, _CANCEL_KEYS, self.client_order_id + self.portfolio_id + self.node_id)


OrderRequest = NewOrder | CancelOrder


class OrderFeedback(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An execution report from the gateway, keyed by portfolio id.

    Fill reports carry a unique ``fill_id``, ``fill_qty`` and ``fill_price``;
    ``cumulative_qty`` is the order's filled quantity after this report.
    ``commission`` is charged in ``commission_asset``: empty (what every report
    before this field said) means the quote currency; a venue may name the
    quote, the symbol's base (the bought asset) or a third asset (see
    ``domain/fees.py`` for how each is booked). A negative commission is a
    rebate the venue paid (a maker rebate): it credits that asset.
    """

    status: FeedbackStatus
    client_order_id: OrderId
    portfolio_id: Name
    epoch: Count
    symbol: OptionalName = ""
    side: Side | None = None
    venue_order_id: Id | None = None
    fill_id: Id | None = None
    fill_qty: Decimal | None = None
    fill_price: Decimal | None = None
    cumulative_qty: Decimal = ZERO
    commission: Decimal = ZERO
    reason: str | None = None
    ts_ns: TimestampNs = 0
    commission_asset: OptionalName = ""
    v: Count = SCHEMA_VERSION

    def __post_init__(self) -> None:
        check_printable(
            self,
            _FEEDBACK_KEYS,
            self.client_order_id
            + self.portfolio_id
            + self.symbol
            + (self.venue_order_id or "")
            + (self.fill_id or "")
            + self.commission_asset,
        )
        if self.status in FILL_STATUSES and (not self.fill_id or self.fill_qty is None or self.fill_price is None):
            raise ValueError("a fill report needs fill_id, fill_qty and fill_price")
        if self.fill_qty is not None:
            check_quantity("fill_qty", self.fill_qty)
        if self.fill_price is not None:
            check_price("fill_price", self.fill_price)
        # the default itself, or the fill's quantity (checked above, and positive): valid
        if self.cumulative_qty is not ZERO and self.cumulative_qty is not self.fill_qty:
            check_quantity("cumulative_qty", self.cumulative_qty, positive=False)
        if self.commission is not ZERO:
            check_signed_amount("commission", self.commission)
        if self.status is _Status.REJECTED and not self.reason:
            raise ValueError("a rejection needs a reason")


# --- schedule commands -------------------------------------------------------


class ScheduleCommand(msgspec.Struct, frozen=True, kw_only=True):
    """A signed command on ``schedule.updates``.

    The seed reads ``msg["command"]`` and ``msg["portfolio_id"]``; those names stay.
    ``signature`` is HMAC-SHA256 (hex) over the canonical encoding with an empty
    signature field (see ``wire.signing``).
    """

    command: Name
    target_node: Name
    portfolio_id: Name | None = None
    params: dict[str, Any] = {}
    issued_at_ns: TimestampNs
    nonce: Id
    signature: Signature = ""
    v: Count = SCHEMA_VERSION

    def __post_init__(self) -> None:
        check_printable(self, _COMMAND_KEYS, self.command + self.target_node + (self.portfolio_id or "") + self.nonce)


class CommandAck(msgspec.Struct, frozen=True, kw_only=True):
    """A node's answer to a command, written to the coordination store under
    ``names.command_ack_key(nonce)`` so that the sender can wait for it."""

    nonce: Id
    node_id: Name
    command: Name
    portfolio_id: Name | None = None
    ok: bool
    detail: str = ""
    ts_ns: TimestampNs = 0
    v: Count = SCHEMA_VERSION


# --- dead letters ------------------------------------------------------------


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message that could not be processed, with the reason, on ``<topic>.dlq``."""

    topic: str
    partition: Count
    offset: Count
    key: bytes | None
    payload: bytes
    reason: str
    component: str
    ts_ns: TimestampNs
    v: Count = SCHEMA_VERSION
