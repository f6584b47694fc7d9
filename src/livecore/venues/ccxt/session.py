"""The venue's API as the broker uses it: a thin async face over one ccxt.pro
client, speaking ``MarketRules``, ``VenueOrder`` and ``VenueTrade``.

Every call runs on the broker's event loop (``loop.py``). ccxt's own
exceptions pass through: what each means for an order is decided in
``errors.py``. A venue answer that cannot be read (no id, no status) is
dropped and counted in ``unreadable``, never guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import ccxt

from livecore.venues.ccxt.markets import TICK_SIZE, MarketRules, rules_from_market, to_decimal
from livecore.venues.ccxt.translate import VenueOrder, VenueTrade, read_order, read_trade
from livecore.wire.messages import NewOrder, OrderType, TimeInForce

log = logging.getLogger(__name__)

_TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC"}  # DAY has no spot equivalent


class VenueSession:
    """One ccxt.pro client; ``close`` releases its connections."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.name: str = client.id
        self.unreadable = 0

    # --- reading -----------------------------------------------------------------

    async def load_markets(self) -> dict[str, MarketRules]:
        markets = await self.client.load_markets(reload=True)
        mode = int(getattr(self.client, "precisionMode", TICK_SIZE))
        return {symbol: rules_from_market(market, mode) for symbol, market in markets.items()}

    async def find(self, venue_client_id: str, symbol: str) -> VenueOrder | None:
        """The order with this client id, None when the venue says it has none."""
        try:
            raw = await self.client.fetch_order("", symbol, {"clientOrderId": venue_client_id})
        except ccxt.OrderNotFound:
            return None
        return self._order(raw)

    async def fetch(self, venue_order_id: str, symbol: str) -> VenueOrder | None:
        try:
            raw = await self.client.fetch_order(venue_order_id, symbol)
        except ccxt.OrderNotFound:
            return None
        return self._order(raw)

    async def order_trades(self, venue_order_id: str, symbol: str) -> list[VenueTrade]:
        raw = await self.client.fetch_order_trades(venue_order_id, symbol)
        return self._trades(raw)

    async def trades_since(self, symbol: str, since_ms: int) -> list[VenueTrade]:
        raw = await self.client.fetch_my_trades(symbol, since_ms)
        return self._trades(raw)

    async def open_orders(self) -> list[VenueOrder]:
        raw = await self.client.fetch_open_orders()
        return self._orders(raw)

    async def balances(self) -> dict[str, Decimal]:
        """Every asset's total (free + in orders), zeros left out."""
        raw = await self.client.fetch_balance()
        totals: Mapping[str, Any] = raw.get("total") or {}
        out: dict[str, Decimal] = {}
        for asset, amount in totals.items():
            value = to_decimal(amount)
            if value:
                out[str(asset)] = value
        return out

    async def watch_orders(self) -> list[VenueOrder]:
        return self._orders(await self.client.watch_orders())

    async def watch_trades(self) -> list[VenueTrade]:
        return self._trades(await self.client.watch_my_trades())

    # --- writing ---------------------------------------------------------------------

    async def place(self, order: NewOrder, venue_client_id: str) -> VenueOrder | None:
        """Send ``order``; the venue's answer (None when it cannot be read: the order
        is then looked up). Raises what ccxt raised."""
        params: dict[str, Any] = {"clientOrderId": venue_client_id}
        if order.order_type is OrderType.LIMIT:
            params["timeInForce"] = _TIME_IN_FORCE[order.time_in_force]
        elif order.time_in_force is TimeInForce.IOC:
            params["timeInForce"] = "IOC"
        price = float(order.limit_price) if order.limit_price is not None else None
        raw = await self.client.create_order(
            order.symbol, order.order_type.value, order.side.value, float(order.quantity), price, params
        )
        # OKX acknowledges with ids only: the order is placed, its state follows on the streams
        status = raw.get("status") or "open"
        return self._order({**raw, "clientOrderId": raw.get("clientOrderId") or venue_client_id, "status": status})

    async def cancel(self, venue_order_id: str, symbol: str) -> VenueOrder | None:
        """Cancel; the order as the venue answered (None when it has no such open order)."""
        try:
            raw = await self.client.cancel_order(venue_order_id, symbol)
        except ccxt.OrderNotFound:
            return None
        if not raw.get("status"):  # an acknowledgement (OKX): read the order back
            return await self.fetch(venue_order_id, symbol)
        return self._order(raw)

    async def resync_clock(self) -> int:
        """Measure the venue's clock and sign with it from now on; the offset in ms."""
        self.client.options["adjustForTimeDifference"] = True
        await self.client.load_time_difference()
        return int(self.client.options.get("timeDifference", 0))

    async def close(self) -> None:
        await self.client.close()

    # --- reading answers -------------------------------------------------------------

    def _order(self, raw: Any) -> VenueOrder | None:
        order = read_order(raw, self.name) if isinstance(raw, Mapping) else None
        if order is None:
            self.unreadable += 1
            log.warning("%s: unreadable order answer dropped", self.name)
        return order

    def _orders(self, raw: Iterable[Any]) -> list[VenueOrder]:
        return [o for o in (self._order(r) for r in raw) if o is not None]

    def _trades(self, raw: Iterable[Any]) -> list[VenueTrade]:
        out = []
        for item in raw:
            trade = read_trade(item, self.name) if isinstance(item, Mapping) else None
            if trade is None:
                self.unreadable += 1
                log.warning("%s: unreadable trade dropped", self.name)
            else:
                out.append(trade)
        return out


def time_in_force_supported(order: NewOrder) -> bool:
    """Spot venues have no DAY orders; livecore does not fake them."""
    return order.time_in_force in _TIME_IN_FORCE
