"""``CcxtBroker``: a real venue behind the gateway's desk, through ccxt.pro.

Design (docs/VENUES.md, "How the venue broker works"): the desk calls the
broker under its lock, so the broker never waits on the network there. It
owns an event loop on a thread of its own (``loop.py``) where one ccxt.pro
client lives; ``submit`` and ``cancel`` check what can be checked locally
(the market's rules, the operator's caps), note the order in the tracker and
hand the conversation to the loop (``flows.py``); the venue's answers, its
private streams and the periodic polls (``sync.py``) update the tracker, whose
reports wait until the gateway's report loop drains them (``wait_reports`` /
``drain_reports``) and journals each before it is published, as for the paper
broker. The only calls that block a gateway thread are ``open`` (markets) and
``lookup`` of an order the broker does not follow, bounded by
``call_timeout_s``; a venue that does not answer then raises
``VenueUnavailable``, which the gateway's loops treat as a backend down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from livecore.faults import describe
from livecore.gateway.answers import rejection
from livecore.gateway.broker import BrokerAdapter, ExecutionReport
from livecore.ports.store import Journal
from livecore.venues.ccxt.caps import CapGuard
from livecore.venues.ccxt.config import VenueConfig
from livecore.venues.ccxt.credentials import Credentials
from livecore.venues.ccxt.errors import VenueUnavailable
from livecore.venues.ccxt.flows import OrderFlows
from livecore.venues.ccxt.ids import ClientIdCollision, VenueIds, venue_client_id
from livecore.venues.ccxt.loop import LoopThread
from livecore.venues.ccxt.markets import UNKNOWN_SYMBOL, MarketRules, check_order
from livecore.venues.ccxt.profiles import PROFILES, build_client
from livecore.venues.ccxt.session import VenueSession, time_in_force_supported
from livecore.venues.ccxt.snapshot import VenueSnapshot
from livecore.venues.ccxt.state import VenueState, VenueStats
from livecore.venues.ccxt.sync import ORDERS, TRADES, VenueSync
from livecore.venues.ccxt.tracker import OrderTracker, Phase
from livecore.venues.ccxt.translate import FINAL, VenueOrder, VenueStatus
from livecore.wire.messages import FeedbackStatus, MarketEvent, NewOrder, OrderFeedback

log = logging.getLogger(__name__)

ClientFactory = Callable[[], Any]


class CcxtBroker(BrokerAdapter):
    reports_async = True

    def __init__(
        self,
        config: VenueConfig,
        *,
        journal: Journal,
        credentials: Credentials | None = None,
        client_factory: ClientFactory | None = None,
        on_snapshot: Callable[[VenueSnapshot], None] | None = None,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``client_factory`` builds the ccxt.pro client (on the loop); by default one
        for ``config`` with ``credentials``. ``sleep`` waits out the venue's rate
        limits (on the loop)."""
        self.config = config
        self.profile = PROFILES[config.venue]
        self._journal = journal
        self._factory = client_factory or self._default_factory(credentials)
        tracker = OrderTracker(venue=self.profile.name, ids=VenueIds(self.profile.ids))
        self._state = VenueState(config=config, tracker=tracker, clock=clock, sleep=sleep)
        self._flows = OrderFlows(self._state)
        self._sync = VenueSync(self._state, self._flows, journal=journal, on_snapshot=on_snapshot)
        self._caps = CapGuard(config.caps)
        self._prices: dict[str, Decimal] = {}
        self._markets: dict[str, MarketRules] = {}
        self._loop = LoopThread(f"venue-{self.profile.name}")
        self._opened = False

    def _default_factory(self, credentials: Credentials | None) -> ClientFactory:
        c = self.config
        return lambda: build_client(
            self.profile,
            credentials,
            sandbox=c.sandbox,
            venue_url=c.venue_url,
            timeout_ms=int(c.request_timeout_s * 1000),
        )

    @property
    def stats(self) -> VenueStats:
        return self._state.stats

    @property
    def markets(self) -> dict[str, MarketRules]:
        return self._markets

    # --- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Connect, load the markets, start the streams, the polls and the catch-up."""
        if self._opened:
            return
        self._loop.start()
        try:
            self._markets = self._loop.call(self._connect(), self.config.call_timeout_s)
        except Exception as exc:
            self.close()
            raise VenueUnavailable(f"{self.profile.name}: cannot load its markets: {describe(exc, 300)}") from exc
        self._opened = True
        symbols = {entry.order.symbol for entry in self._journal.orders()} & set(self._markets)
        for kind in (ORDERS, TRADES):
            self._loop.spawn(self._sync.stream(kind), f"{kind} stream")
        self._loop.spawn(self._sync.catch_up(symbols), "catch-up")
        self._loop.spawn(self._sync.reconcile(), "reconciliation")
        self._loop.spawn(self._sync.snapshots(), "snapshots")
        log.info("venue %s open: %d markets (%s)", self.profile.name, len(self._markets), self._mode())

    def _mode(self) -> str:
        c = self.config
        where = f"at {c.venue_url}" if c.venue_url else ("testnet" if c.sandbox else "LIVE")
        return f"{where}; caps: notional {c.caps.max_notional}, {c.caps.orders_per_minute} orders/min"

    async def _connect(self) -> dict[str, MarketRules]:
        session = VenueSession(self._factory())
        self._state.session = session
        return await session.load_markets()

    def close(self) -> None:
        session = self._state.session
        self._loop.stop(session.close() if session is not None else None)
        self._opened = False

    # --- BrokerAdapter ---------------------------------------------------------------

    def submit(self, order: NewOrder, now_ns: int) -> None:
        reason = self._refusal(order, now_ns)
        if reason is None:
            try:
                with self._state.changing() as tracker:
                    tracker.add(order, now_ns)
            except ClientIdCollision as exc:
                reason = f"client_id_collision: {exc}"
        if reason is not None:
            self._state.stats.rejected_locally += 1
            log.warning("%s not sent: %s", order.client_order_id, reason)
            self._state.add_report(rejection(order, reason[:500], now_ns))
            return
        self._caps.admit(now_ns)
        self._loop.spawn(self._flows.place(order.client_order_id), f"placing {order.client_order_id}")

    def _refusal(self, order: NewOrder, now_ns: int) -> str | None:
        rules = self._markets.get(order.symbol)
        if rules is None:
            return f"{UNKNOWN_SYMBOL}: {order.symbol} is not a market of {self.profile.name}"
        if not time_in_force_supported(order):
            return f"unsupported: {order.time_in_force.value} orders are not offered by {self.profile.name} spot"
        price = self._prices.get(order.symbol)
        return check_order(order, rules, price) or self._caps.refusal(order, order.limit_price or price, now_ns)

    def cancel(self, client_order_id: str, now_ns: int, reason: str | None = None) -> bool:
        with self._state.changing() as tracker:
            tracked = tracker.get(client_order_id)
            if tracked is None or not tracked.working:
                return False
            tracker.cancelling(client_order_id, reason or "cancel_requested")
        self._loop.spawn(self._flows.cancel(client_order_id), f"cancelling {client_order_id}")
        return True

    def restore(self, order: NewOrder, history: Sequence[OrderFeedback]) -> None:
        with self._state.changing() as tracker:
            tracked = tracker.restore(order, history, self._state.clock())
        log.info(
            "following %s again (%s filled, venue order %s)",
            order.client_order_id,
            tracked.filled,
            tracked.venue_order_id,
        )
        self._loop.spawn(self._flows.resolve(order.client_order_id), f"resolving {order.client_order_id}")

    def track(self, order: NewOrder) -> None:
        journaled = self._journal.get_order(order.client_order_id)
        sent = journaled.received_ns if journaled is not None else self._state.clock()
        with self._state.changing() as tracker:
            if tracker.get(order.client_order_id) is not None:
                return
            tracker.add(order, sent, Phase.UNKNOWN)
        self._loop.spawn(self._flows.resolve(order.client_order_id), f"resolving {order.client_order_id}")

    def release(self, client_order_id: str) -> bool:
        with self._state.changing() as tracker:
            tracked = tracker.forget(client_order_id)
        return tracked is not None and tracked.working

    def open_orders(self, symbol: str | None = None) -> list[NewOrder]:
        with self._state.changing() as tracker:
            return [t.order for t in tracker.working(symbol)]

    def drain_reports(self) -> list[ExecutionReport]:
        return self._state.drain()

    def wait_caught_up(self, timeout: float) -> bool:
        """True once the catch-up at start has read the venue's trades (``sync.py``)."""
        return self._state.caught_up.wait(timeout)

    def wait_reports(self, timeout: float) -> bool:
        return self._state.ready.wait(timeout)

    def on_market(self, event: MarketEvent) -> None:
        self._prices[event.symbol] = event.price

    def lookup(self, client_order_id: str) -> FeedbackStatus | None:
        """Known to this broker: its last status (``accepted`` while in flight). Else
        the venue is asked by client id; not found counts only once the order is too
        old to arrive any more (before that: ``VenueUnavailable``, asked again)."""
        with self._state.changing() as tracker:
            tracked = tracker.get(client_order_id)
            if tracked is not None:
                return tracked.last_status or FeedbackStatus.ACCEPTED
        journaled = self._journal.get_order(client_order_id)
        if journaled is None:
            return None
        order = journaled.order
        venue_id = venue_client_id(client_order_id, self.profile.ids)
        try:
            found = self._loop.call(self._state.live_session().find(venue_id, order.symbol), self.config.call_timeout_s)
        except Exception as exc:
            raise VenueUnavailable(f"{self.profile.name}: cannot look {client_order_id} up: {exc}") from exc
        if found is not None:
            return _status_of(found, order)
        age_s = (self._state.clock() - journaled.received_ns) / 1e9
        if age_s < self.config.not_received_s:
            raise VenueUnavailable(
                f"{client_order_id} is not at {self.profile.name} {age_s:.1f}s after it was received: "
                f"asked again until {self.config.not_received_s:g}s have passed"
            )
        return None


def _status_of(found: VenueOrder, order: NewOrder) -> FeedbackStatus:
    if found.status is VenueStatus.REJECTED:
        return FeedbackStatus.REJECTED
    if found.status in FINAL:
        return FeedbackStatus.FILLED if found.filled >= order.quantity else FeedbackStatus.CANCELLED
    return FeedbackStatus.PARTIALLY_FILLED if found.filled else FeedbackStatus.ACCEPTED
