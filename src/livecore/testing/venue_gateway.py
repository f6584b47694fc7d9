"""A trade gateway on the venue simulator, in one process: the harness of the
gateway's venue scenarios (``tests/integration/test_ccxt_gateway.py``).

Backends are embedded (``memory://`` bus and coordination of a unique name, a
SQLite journal in a directory of the caller's); the gateway's broker is a
``CcxtBroker`` pointed at a ``VenueSimServer`` with real ccxt.pro, so ccxt's
signing, parsing and error mapping run end to end on 127.0.0.1. Orders are
published on ``orders`` as a node would; outcomes are read from the journal,
the gateway's record of what it published.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.gateway.config import GatewayConfig
from livecore.gateway.service import TradeGateway
from livecore.ports.bus import ConsumerSettings
from livecore.testing.servers import wait_until
from livecore.venues.ccxt.broker import CcxtBroker
from livecore.venues.ccxt.config import VenueConfig
from livecore.venues.ccxt.credentials import Credentials
from livecore.venues.ccxt.profiles import PROFILES, build_client
from livecore.venues.sim.server import VenueSimServer
from livecore.venues.sim.venue import Credentials as SimCredentials
from livecore.venues.sim.venue import VenueSettings
from livecore.wire.codec import encode
from livecore.wire.messages import (
    CancelOrder,
    FeedbackStatus,
    NewOrder,
    OrderFeedback,
    OrderType,
    Side,
    Tick,
    TimeInForce,
)
from livecore.wire.names import Topics

KEY, SECRET, PASSWORD = "venue-test-key", "venue-test-secret", "venue-test-passphrase"
SIM_CREDENTIALS = SimCredentials(api_key=KEY, secret=SECRET, passphrase=PASSWORD)
CREDENTIALS = Credentials(key=KEY, secret=SECRET, password=PASSWORD)
CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750, fetch_wait_max_ms=20)
TIMEOUT = 20.0

# a broker that reacts in test time: quick polls and lookups, a short not-received window
FAST: dict[str, Any] = {
    "request_timeout_s": 2.0,
    "call_timeout_s": 10.0,
    "reconcile_interval_s": 0.5,
    "snapshot_interval_s": 0.5,
    "lookup_backoff_s": 0.05,
    "lookup_max_backoff_s": 0.5,
    "rate_limit_backoff_s": 0.1,
    "stream_backoff_s": 0.1,
    "stream_max_backoff_s": 0.5,
}


def sim_settings(**overrides: Any) -> VenueSettings:
    base: dict[str, Any] = {
        "venue": "binance",
        "balances": {"BTC": Decimal(1), "USDT": Decimal(100_000)},
        "prices": {"BTC/USDT": Decimal(50_000), "ETH/USDT": Decimal(3_000)},
        "credentials": SIM_CREDENTIALS,
    }
    return VenueSettings(**(base | overrides))


def _ms(config: VenueConfig) -> int:
    return int(config.request_timeout_s * 1000)


class LostBeforeTheVenue:
    """A ccxt client whose first ``count`` placements never leave: the caller sees a
    timeout, as when the network fails before the venue."""

    def __init__(self, client: Any, count: int = 1) -> None:
        self._client = client
        self._count = count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def create_order(self, *args: Any, **kwargs: Any) -> Any:
        if self._count > 0:
            self._count -= 1
            raise ccxt.RequestTimeout("binance POST /api/v3/order (lost before the venue)")
        return await self._client.create_order(*args, **kwargs)


def venue_config(url: str, **overrides: Any) -> VenueConfig:
    values: dict[str, Any] = {"venue": "binance", "sandbox": True, "venue_url": url} | FAST | overrides
    return VenueConfig(**values)


class VenueGatewayHarness:
    """Embedded backends, a gateway on the simulator, orders in, the journal out."""

    def __init__(self, directory: Path, sim: VenueSimServer) -> None:
        name = f"venue-{uuid.uuid4().hex[:10]}"
        self.sim = sim
        self.bus = open_bus(f"memory://{name}")
        self.coord = open_coordination(f"memory://{name}")
        self.store = open_store(f"sqlite:///{directory / 'journal.db'}")
        self.topics = Topics(f"{name}.")
        self.producer = self.bus.producer()
        self.gateway: TradeGateway | None = None
        self.broker: CcxtBroker | None = None
        self._seq = 0

    def start(
        self,
        *,
        wrap: Callable[[Any], Any] | None = None,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **venue: Any,
    ) -> CcxtBroker:
        """A gateway on the simulator; ``wrap`` may stand between the broker and its
        ccxt client (to lose a request before it leaves); ``clock`` and ``sleep``
        are the broker's."""
        config = venue_config(self.sim.url, **({"venue": self.sim.venue.settings.venue} | venue))
        profile = PROFILES[config.venue]

        def client() -> Any:
            real = build_client(profile, CREDENTIALS, sandbox=True, venue_url=self.sim.url, timeout_ms=_ms(config))
            return real if wrap is None else wrap(real)

        self.broker = CcxtBroker(config, journal=self.store.journal, client_factory=client, clock=clock, sleep=sleep)
        settings = GatewayConfig(topic_prefix=self.topics.prefix, consumer=CONSUMER, require_fence=False)
        self.gateway = TradeGateway(self.bus, self.coord, self.store, settings, broker=self.broker)
        self.gateway.start()
        assert self.gateway.wait_ready(TIMEOUT), "gateway consumers got no partitions"
        return self.broker

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None

    def close(self) -> None:
        self.stop()
        self.producer.close(5.0)
        self.bus.close()
        self.coord.close()
        self.store.close()

    # --- orders in ---------------------------------------------------------------------

    def order(
        self,
        side: Side,
        qty: str,
        limit: str | None = None,
        *,
        symbol: str = "BTC/USDT",
        pid: str = "pf",
        tif: TimeInForce = TimeInForce.GTC,
    ) -> NewOrder:
        """Publish a new order on ``orders``, as a node does."""
        order = self.new_order(side, qty, limit, symbol=symbol, pid=pid, tif=tif)
        self.producer.publish_sync(self.topics.orders, order.portfolio_id, encode(order))
        return order

    def new_order(
        self,
        side: Side,
        qty: str,
        limit: str | None = None,
        *,
        symbol: str = "BTC/USDT",
        pid: str = "pf",
        tif: TimeInForce = TimeInForce.GTC,
    ) -> NewOrder:
        """The next order of ``pid``, not published."""
        self._seq += 1
        return NewOrder(
            client_order_id=f"{pid}-1-{self._seq}",
            portfolio_id=pid,
            epoch=1,
            node_id="n1",
            symbol=symbol,
            side=side,
            quantity=Decimal(qty),
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            limit_price=Decimal(limit) if limit else None,
            time_in_force=tif,
            created_ns=time.time_ns(),
        )

    def cancel(self, order: NewOrder) -> None:
        request = CancelOrder(
            client_order_id=order.client_order_id,
            portfolio_id=order.portfolio_id,
            epoch=order.epoch,
            node_id=order.node_id,
            created_ns=time.time_ns(),
        )
        self.producer.publish_sync(self.topics.orders, order.portfolio_id, encode(request))

    def tick(self, symbol: str, price: str) -> None:
        """A price the gateway sees on ``market.data`` (market orders' notional)."""
        event = Tick(symbol=symbol, ts_ns=time.time_ns(), price=Decimal(price))
        self.producer.publish_sync(self.topics.market_data, symbol, encode(event))

    # --- outcomes out ------------------------------------------------------------------

    def outcomes(self, order: NewOrder) -> list[OrderFeedback]:
        return [e.feedback for e in self.store.journal.feedback_for_order(order.client_order_id)]

    def statuses(self, order: NewOrder) -> list[FeedbackStatus]:
        return [fb.status for fb in self.outcomes(order)]

    def wait_for(self, order: NewOrder, status: FeedbackStatus, timeout: float = TIMEOUT) -> list[OrderFeedback]:
        wait_until(lambda: status in self.statuses(order), timeout, f"{order.client_order_id} {status.value}")
        return self.outcomes(order)

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        wait_until(condition, timeout, what)

    def journal_fills(self) -> dict[str, tuple[Decimal, Decimal, Decimal, str]]:
        """Fill id -> (qty, price, commission, asset), every journaled fill."""
        out = {}
        for entry in self.store.journal.feedback():
            fb = entry.feedback
            if fb.fill_id and fb.fill_qty is not None and fb.fill_price is not None:
                out[fb.fill_id] = (fb.fill_qty, fb.fill_price, fb.commission, fb.commission_asset)
        return out


def venue_fills(sim: VenueSimServer) -> dict[str, tuple[Decimal, Decimal, Decimal, str]]:
    """The simulator's own record of its fills, keyed as the gateway names fills."""
    out = {}
    venue = sim.venue.settings.venue
    for fill in sim.venue.fills():
        out[f"{venue}:{fill.symbol}:{fill.trade_id}"] = (fill.qty, fill.price, fill.commission, fill.commission_asset)
    return out
