"""The venue simulator's vocabulary, the same for every venue it imitates.

Pure values: the wire modules (``binance_wire``, ``okx_wire``) turn them into
each venue's own JSON. Amounts are ``Decimal``; times are integer
milliseconds, passed in by the caller (the engine reads no clock).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(enum.StrEnum):
    GTC = "GTC"  # rests until filled or cancelled
    IOC = "IOC"  # fills what it can at once, the rest expires
    FOK = "FOK"  # fills entirely at once or expires without a fill


class Status(enum.StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"  # a market or IOC order's unfilled rest


FINAL = frozenset({Status.FILLED, Status.CANCELED, Status.EXPIRED})


class Execution(enum.StrEnum):
    """What happened to an order in one event (Binance's ``x``)."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


class FeeAsset(enum.StrEnum):
    """Which asset pays the commission, unless ``CommissionSettings.asset`` names one."""

    RECEIVED = "received"  # the asset the order receives (Binance and OKX spot default)
    QUOTE = "quote"
    BASE = "base"


@dataclass(frozen=True)
class MarketSpec:
    """One spot market and its trading rules (the venue's filters)."""

    base: str
    quote: str
    tick_size: Decimal = Decimal("0.01")
    step_size: Decimal = Decimal("0.00001")
    min_qty: Decimal = Decimal("0.00001")
    max_qty: Decimal = Decimal("9000")
    min_notional: Decimal = Decimal("5")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")

    @property
    def symbol(self) -> str:
        """The unified name, ``BASE/QUOTE``."""
        return f"{self.base}/{self.quote}"


def default_market(symbol: str) -> MarketSpec:
    """Rules like the real venue's for ``BASE/QUOTE``: fine ticks for USD quotes, else finer."""
    base, _, quote = symbol.partition("/")
    if not base or not quote:
        raise ValueError(f"a market is BASE/QUOTE, got {symbol!r}")
    if quote in {"USDT", "USDC", "USD", "FDUSD"}:
        return MarketSpec(base=base, quote=quote)
    return MarketSpec(
        base=base,
        quote=quote,
        tick_size=Decimal("0.00001"),
        step_size=Decimal("0.0001"),
        min_qty=Decimal("0.0001"),
        min_notional=Decimal("0.0001"),
        min_price=Decimal("0.00001"),
    )


@dataclass(frozen=True)
class CommissionSettings:
    """The commission rate and which asset pays it.

    ``asset`` is a ``FeeAsset`` or the code of a third asset (``BNB``): that one
    is charged at ``asset_price`` (its price in the market's quote) when the
    account holds enough of it, else the received asset pays, as on Binance.
    A negative ``maker`` rate is a maker rebate: the venue pays it on each maker
    fill, in the same asset a charge would take, and reports it with its sign
    (OKX: a positive ``fillFee``; Binance, whose commission is always a charge,
    has none: ``VenueSettings`` refuses one there)."""

    taker: Decimal = Decimal("0.001")
    maker: Decimal = Decimal("0.001")
    asset: str = FeeAsset.RECEIVED.value
    asset_price: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        if self.taker < 0:
            raise ValueError("the taker commission rate must be >= 0")
        if self.maker <= -1:
            raise ValueError("the maker commission rate must be above -1 (negative: a rebate)")
        if self.asset_price <= 0:
            raise ValueError("CommissionSettings.asset_price must be > 0")


@dataclass
class Order:
    """One order as the venue keeps it (mutable: the engine updates it in place)."""

    order_id: int
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    qty: Decimal
    price: Decimal | None
    created_ms: int
    updated_ms: int
    quote_qty: Decimal | None = None  # a market buy by quote amount
    executed: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    status: Status = Status.NEW
    locked: Decimal = Decimal(0)  # what the order still holds of the paying asset

    def copy(self) -> Order:
        """A snapshot for an event (later changes do not reach it)."""
        return Order(**self.__dict__)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL


@dataclass(frozen=True)
class Fill:
    """One trade of one of the account's orders."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    maker: bool

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass(frozen=True)
class OrderEvent:
    """A change to one of the account's orders, in the order it happened."""

    execution: Execution
    order: Order  # a snapshot after the change
    time_ms: int
    fill: Fill | None = None
    cancel_client_id: str = ""  # a cancel request's own client id (Binance's ``c`` on CANCELED)


@dataclass(frozen=True)
class PublicTrade:
    """A print on the venue's public tape."""

    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    time_ms: int
    buyer_maker: bool


@dataclass
class Outcome:
    """What one engine call produced: order events for the private stream,
    prints for the public one."""

    events: list[OrderEvent] = field(default_factory=list)
    prints: list[PublicTrade] = field(default_factory=list)
