"""``Venue``: the simulator's state behind a lock, its clock, and its streams.

This is the in-process Python API a test drives (``set_price``, ``trade``,
``set_depth``, ``set_balance``, ``faults``, ``record``) and what the venue's
HTTP and websocket front ends call. Every change is made under one lock and
published in order: account events on ``private``, prints on ``public``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from livecore.venues.sim.engine import MatchingEngine
from livecore.venues.sim.faults import Faults
from livecore.venues.sim.hub import Hub
from livecore.venues.sim.ledger import Holding
from livecore.venues.sim.model import (
    CommissionSettings,
    Fill,
    MarketSpec,
    Order,
    OrderType,
    Outcome,
    Side,
    TimeInForce,
    default_market,
)
from livecore.venues.sim.tape import Stats, Tape

VENUES = ("binance", "okx")


@dataclass(frozen=True)
class Credentials:
    """The one API key the simulator accepts (OKX also wants its passphrase)."""

    api_key: str = "sim-key"
    secret: str = "sim-secret"
    passphrase: str = "sim-passphrase"


@dataclass(frozen=True)
class VenueSettings:
    """What one simulator starts with."""

    venue: str = "binance"
    markets: tuple[MarketSpec, ...] = (default_market("BTC/USDT"), default_market("ETH/USDT"))
    balances: Mapping[str, Decimal] = field(default_factory=lambda: {"BTC": Decimal(1), "USDT": Decimal(100_000)})
    prices: Mapping[str, Decimal] = field(default_factory=dict)  # initial last prices
    commission: CommissionSettings = field(default_factory=CommissionSettings)
    credentials: Credentials = field(default_factory=Credentials)

    def __post_init__(self) -> None:
        if self.venue not in VENUES:
            raise ValueError(f"VenueSettings.venue must be one of {', '.join(VENUES)}, got {self.venue!r}")
        if not self.markets:
            raise ValueError("VenueSettings.markets must not be empty")
        check_commission(self.venue, self.commission)


# venues whose wire can report a rebate (a fee of the other sign)
REBATE_VENUES = frozenset({"okx"})


def check_commission(venue: str, commission: CommissionSettings) -> None:
    """Refuse a maker rebate on a venue whose wire has no signed fee (Binance)."""
    if commission.maker < 0 and venue not in REBATE_VENUES:
        raise ValueError(f"{venue} reports every commission as a charge: a negative maker rate needs okx")


@dataclass(frozen=True)
class BalanceUpdate:
    """The account's balances of the assets an event changed."""

    time_ms: int
    holdings: dict[str, Holding]


class Venue:
    """One simulated venue: one account, its markets, faults and streams."""

    def __init__(self, settings: VenueSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.credentials = settings.credentials
        self.faults = Faults()
        self.private = Hub()  # OrderEvent and BalanceUpdate
        self.public = Hub()  # TapeUpdate
        self._clock = clock
        self._lock = threading.RLock()
        self._tape = Tape()
        self._engine = MatchingEngine(
            markets=settings.markets, commission=settings.commission, balances=settings.balances
        )
        for symbol, price in settings.prices.items():
            self.set_price(symbol, price)

    def now_ms(self) -> int:
        """The venue's clock (this machine's, moved by an armed clock skew)."""
        return int(self._clock() * 1000) + self.faults.clock_skew_ms

    # ---- what the front ends call -------------------------------------------------

    def markets(self) -> list[MarketSpec]:
        return self._engine.markets()

    def place(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Decimal,
        price: Decimal | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        client_id: str = "",
        quote_qty: Decimal | None = None,
    ) -> tuple[Order, list[Fill]]:
        """Place an order; returns it after matching and the fills it got at once."""
        with self._lock:
            order, out = self._engine.place(
                symbol=symbol,
                side=side,
                type=type,
                qty=qty,
                price=price,
                tif=tif,
                client_id=client_id,
                now_ms=self.now_ms(),
                quote_qty=quote_qty,
            )
            self._publish(out)
        return order, [e.fill for e in out.events if e.fill is not None]

    def cancel(
        self, *, symbol: str, order_id: int | None = None, client_id: str | None = None, cancel_client_id: str = ""
    ) -> Order:
        with self._lock:
            order, out = self._engine.cancel(
                symbol=symbol,
                order_id=order_id,
                client_id=client_id,
                cancel_client_id=cancel_client_id,
                now_ms=self.now_ms(),
            )
            self._publish(out)
        return order

    def find(self, symbol: str, *, order_id: int | None = None, client_id: str | None = None) -> Order:
        with self._lock:
            return self._engine.find(symbol, order_id=order_id, client_id=client_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self._lock:
            return self._engine.open_orders(symbol)

    def orders(self, symbol: str | None = None) -> list[Order]:
        with self._lock:
            return self._engine.orders(symbol)

    def fills(self, symbol: str | None = None, **filters: Any) -> list[Fill]:
        with self._lock:
            return self._engine.fills(symbol, **filters)

    def balances(self) -> dict[str, Holding]:
        with self._lock:
            return self._engine.ledger.snapshot()

    def last_price(self, symbol: str) -> Decimal | None:
        with self._lock:
            return self._engine.book(symbol).last

    def ticker(self, symbol: str) -> Stats | None:
        with self._lock:
            self._engine.book(symbol)
            return self._tape.ticker(symbol)

    def depth(self, symbol: str) -> tuple[list[list[Decimal]], list[list[Decimal]]]:
        with self._lock:
            book = self._engine.book(symbol)
            return [list(lv) for lv in book.asks], [list(lv) for lv in book.bids]

    # ---- control: the simulator's own market and account ------------------------------

    def set_price(self, symbol: str, price: Decimal | str, *, qty: Decimal | str | None = None) -> None:
        """A print at ``price`` on the public tape: the last price moves and resting
        orders it crosses fill (all, or up to ``qty``: partial fills)."""
        with self._lock:
            out = self._engine.print_trade(
                symbol, Decimal(price), now_ms=self.now_ms(), qty=None if qty is None else Decimal(qty)
            )
            self._publish(out)

    def trade(self, symbol: str, price: Decimal | str, qty: Decimal | str) -> None:
        """A print of exactly ``qty``: it fills resting orders up to that quantity."""
        self.set_price(symbol, price, qty=qty)

    def set_depth(
        self,
        symbol: str,
        *,
        asks: Iterable[tuple[Decimal | str, Decimal | str]] = (),
        bids: Iterable[tuple[Decimal | str, Decimal | str]] = (),
    ) -> None:
        """Levels takers walk, each used up as it fills (several levels: several
        fills; an empty side: no liquidity) until ``clear_depth``."""
        with self._lock:
            self._engine.set_depth(
                symbol,
                asks=[(Decimal(p), Decimal(q)) for p, q in asks],
                bids=[(Decimal(p), Decimal(q)) for p, q in bids],
            )

    def clear_depth(self, symbol: str) -> None:
        """Back to unlimited liquidity at the last price (the default)."""
        with self._lock:
            self._engine.clear_depth(symbol)

    def set_balance(self, asset: str, amount: Decimal | str) -> None:
        with self._lock:
            self._engine.ledger.set_free(asset, Decimal(amount))

    def set_commission(self, commission: CommissionSettings) -> None:
        check_commission(self.settings.venue, commission)
        with self._lock:
            self._engine.commission = commission

    @property
    def commission(self) -> CommissionSettings:
        return self._engine.commission

    def record(self) -> dict[str, Any]:
        """The venue's own record, as plain JSON values (amounts as strings)."""
        with self._lock:
            return {
                "balances": {a: {"free": str(h.free), "locked": str(h.locked)} for a, h in self.balances().items()},
                "orders": [_order_record(o) for o in self._engine.orders()],
                "fills": [_fill_record(f) for f in self._engine.fills()],
            }

    # ---- streams -----------------------------------------------------------------

    def _publish(self, out: Outcome) -> None:
        for trade in out.prints:
            self.public.publish(self._tape.record(trade))
        if not out.events:
            return
        touched: set[str] = set()
        for event in out.events:
            if self.faults.take_private_drop():
                self.private.close_all()
            self.private.publish(event)
            spec = self._engine.book(event.order.symbol).spec
            touched.update((spec.base, spec.quote))
            if event.fill is not None:
                touched.add(event.fill.commission_asset)
        snapshot = self._engine.ledger.snapshot()
        self.private.publish(BalanceUpdate(out.events[-1].time_ms, {a: snapshot[a] for a in sorted(touched)}))


def _order_record(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "client_id": order.client_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "tif": order.tif.value,
        "qty": str(order.qty),
        "price": None if order.price is None else str(order.price),
        "executed": str(order.executed),
        "cum_quote": str(order.cum_quote),
        "status": order.status.value,
        "created_ms": order.created_ms,
        "updated_ms": order.updated_ms,
    }


def _fill_record(fill: Fill) -> dict[str, Any]:
    return {
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "price": str(fill.price),
        "qty": str(fill.qty),
        "commission": str(fill.commission),
        "commission_asset": fill.commission_asset,
        "time_ms": fill.time_ms,
        "maker": fill.maker,
    }
