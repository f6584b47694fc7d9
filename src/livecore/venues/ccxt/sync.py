"""Keeping livecore's view of the venue whole: private streams, REST polls,
the catch-up at start, the periodic scan and the balance snapshot.

- **Streams** (ccxt.pro ``watch_orders`` and ``watch_my_trades``): updates
  and trades are applied as they come. A stream that fails is counted and
  logged, retried with a doubling pause; while one is down the working orders
  are polled over REST every ``stream_backoff_s``-ish, and once it is back one
  more poll covers the gap.
- **Polls**: every working order the venue has named is read back; one that
  filled more than was reported gets its trades read (``flows.fill_gaps``).
  Fills are de-duplicated by trade id, so a trade seen twice is one fill.
- **Catch-up at start**: for each symbol the journal traded, the venue's
  trades since the last journaled fill (or ``trades_lookback_s``) are read;
  those of working orders apply; those of orders livecore does not know are
  reported.
- **Scan** (every ``reconcile_interval_s``): the venue's open orders; one
  livecore did not send is reported (logged, counted, listed in the
  snapshot), never adopted and never cancelled.
- **Snapshot** (every ``snapshot_interval_s``): balances and what the scan
  found, handed to ``on_snapshot`` (the gateway writes it to coordination for
  ``livecore status``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from livecore.faults import describe
from livecore.ports.store import Journal
from livecore.venues.ccxt.flows import OrderFlows
from livecore.venues.ccxt.ids import venue_client_id
from livecore.venues.ccxt.snapshot import VenueSnapshot
from livecore.venues.ccxt.state import VenueState
from livecore.venues.ccxt.tracker import fill_id_of
from livecore.venues.ccxt.translate import VenueOrder, VenueTrade
from livecore.wire.messages import FILL_STATUSES, FeedbackStatus

log = logging.getLogger(__name__)

ORDERS, TRADES = "orders", "trades"  # the two private streams
FINAL_REPORTS = frozenset({FeedbackStatus.FILLED, FeedbackStatus.CANCELLED, FeedbackStatus.REJECTED})


class VenueSync:
    def __init__(
        self,
        state: VenueState,
        flows: OrderFlows,
        *,
        journal: Journal,
        on_snapshot: Callable[[VenueSnapshot], None] | None = None,
    ) -> None:
        self._state = state
        self._flows = flows
        self._journal = journal
        self._on_snapshot = on_snapshot
        self._journaled: dict[str, str] = {}  # venue client id -> livecore id, of recent journal orders

    # --- streams -----------------------------------------------------------------------

    async def stream(self, kind: str) -> None:
        state, config = self._state, self._state.config
        session = state.live_session()
        pause = config.stream_backoff_s
        while True:
            try:
                if kind == ORDERS:
                    self.apply_orders(await session.watch_orders())
                else:
                    self.apply_trades(await session.watch_trades())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if kind not in state.streams_down:
                    state.stats.stream_drops += 1
                    reason = describe(exc, 200)
                    log.warning("%s: private %s stream dropped (%s): polling over REST", session.name, kind, reason)
                state.streams_down.add(kind)
                await asyncio.sleep(pause)
                pause = min(pause * 2, config.stream_max_backoff_s)
                continue
            pause = config.stream_backoff_s
            if kind in state.streams_down:
                state.streams_down.discard(kind)
                log.warning("%s: private %s stream back; polling the gap", session.name, kind)
                await self.poll()

    def apply_orders(self, orders: Iterable[VenueOrder]) -> None:
        state = self._state
        with state.changing() as tracker:
            now = state.clock()
            for order in orders:
                if tracker.order(order, now) is None:
                    self._unknown(order.order_id, f"{order.symbol} {order.status.value} (client id {order.client_id})")

    def apply_trades(self, trades: Iterable[VenueTrade]) -> None:
        state = self._state
        with state.changing() as tracker:
            now = state.clock()
            for trade in trades:
                tracker.trade(trade, now)

    def _unknown(self, venue_order_id: str, what: str) -> None:
        """A venue order livecore did not send: reported once, never touched."""
        state = self._state
        if venue_order_id not in state.unknown_orders:
            state.unknown_orders[venue_order_id] = what
            state.stats.unknown_venue_orders += 1
            log.warning("venue order %s is not livecore's (%s): reported, left alone", venue_order_id, what)

    # --- polls -----------------------------------------------------------------------

    async def poll(self) -> None:
        """Read back every working order the venue has named; fill the gaps."""
        state = self._state
        session = state.live_session()
        with state.changing() as tracker:
            named = [t for t in tracker.working() if t.venue_order_id is not None]
        for tracked in named:
            assert tracked.venue_order_id is not None
            state.stats.polls += 1
            try:
                order = await session.fetch(tracked.venue_order_id, tracked.order.symbol)
                if order is not None:
                    with state.changing() as tracker:
                        tracker.order(order, state.clock())
                await self._flows.fill_gaps(tracked)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: poll of %s: %s", session.name, tracked.client_order_id, describe(exc, 200))

    async def reconcile(self) -> None:
        """Forever: poll (often while a stream is down), scan open orders."""
        config = self._state.config
        scanned = 0.0
        loop = asyncio.get_running_loop()
        while True:
            down = bool(self._state.streams_down)
            await asyncio.sleep(config.stream_backoff_s if down else config.reconcile_interval_s)
            await self.poll()
            if loop.time() - scanned >= config.reconcile_interval_s:
                scanned = loop.time()
                await self.scan()

    async def scan(self) -> None:
        """The venue's open orders: those livecore did not send are reported."""
        state = self._state
        try:
            orders = await state.live_session().open_orders()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("open orders scan failed: %s", describe(exc, 200))
            return
        self.apply_orders(orders)

    # --- catch-up at start --------------------------------------------------------------

    async def catch_up(self, symbols: Iterable[str]) -> None:
        """Trades since the last journaled fill of each symbol (see the module doc)."""
        state, config = self._state, self._state.config
        session = state.live_session()
        floor = state.clock() // 1_000_000 - int(config.trades_lookback_s * 1000)
        last, journaled_fills = self._journaled_fills(floor)
        scheme = state.tracker.ids.scheme
        self._journaled = {
            venue_client_id(entry.order.client_order_id, scheme): entry.order.client_order_id
            for entry in self._journal.orders()
            if entry.received_ns // 1_000_000 >= floor
        }
        for symbol in sorted(set(symbols)):
            since = max(last.get(symbol, floor) - 1000, floor)
            try:
                trades = await session.trades_since(symbol, since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: trades of %s since %d unreadable: %s", session.name, symbol, since, describe(exc, 200))
                continue
            venue = state.tracker.venue
            self.apply_trades(t for t in trades if fill_id_of(venue, t) not in journaled_fills)
        await self.resolve_orphans()
        state.caught_up.set()

    def _journaled_fills(self, floor_ms: int) -> tuple[dict[str, int], set[str]]:
        """This venue's journaled fills since ``floor_ms``: the last one's time per symbol, and their ids."""
        prefix = f"{self._state.tracker.venue}:"
        last: dict[str, int] = {}
        ids: set[str] = set()
        for entry in self._journal.feedback():
            fb = entry.feedback
            if fb.status in FILL_STATUSES and fb.fill_id and fb.fill_id.startswith(prefix):
                ms = fb.ts_ns // 1_000_000
                last[fb.symbol] = max(last.get(fb.symbol, 0), ms)
                if ms >= floor_ms:
                    ids.add(fb.fill_id)
        return last, ids

    async def resolve_orphans(self) -> None:
        """Trades of orders the tracker does not follow: a livecore order not restored
        yet keeps them (its restore applies them), one already final is an anomaly
        logged as an error, another account user's order is reported."""
        state = self._state
        with state.changing() as tracker:
            orphans = dict(tracker.orphans)
        for venue_order_id, trades in orphans.items():
            symbol = trades[0].symbol
            try:
                order = await state.live_session().fetch(venue_order_id, symbol)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("order %s of %d trade(s) unreadable: %s", venue_order_id, len(trades), describe(exc, 200))
                continue
            coid = self._journaled.get(order.client_id or "") if order is not None else None
            with state.changing() as tracker:
                if order is not None and tracker.order(order, state.clock()) is not None:
                    continue  # followed after all: naming it replayed its trades
                if coid is not None and self._journal_open(coid):
                    continue  # its restore names it and replays them
                tracker.orphans.pop(venue_order_id, None)
            if coid is not None:
                log.error(
                    "%d trade(s) of %s (venue order %s) came after its final report: not applied, "
                    "check the venue against the journal",
                    len(trades),
                    coid,
                    venue_order_id,
                )
                continue
            self._unknown(venue_order_id, f"{symbol}: {len(trades)} trade(s) of an order livecore did not send")

    def _journal_open(self, client_order_id: str) -> bool:
        history = self._journal.feedback_for_order(client_order_id)
        return not any(e.feedback.status in FINAL_REPORTS for e in history)

    # --- snapshot ---------------------------------------------------------------------

    async def snapshots(self) -> None:
        state = self._state
        while True:
            if self._on_snapshot is not None:
                try:
                    balances = await state.live_session().balances()
                    with state.changing() as tracker:
                        working = len(tracker.working())
                    await asyncio.to_thread(  # coordination and journal reads: off the loop
                        self._on_snapshot,
                        VenueSnapshot(
                            venue=tracker.venue,
                            ts_ns=state.clock(),
                            balances=balances,
                            unknown_orders=dict(state.unknown_orders),
                            working_orders=working,
                            streams_down=sorted(state.streams_down),
                        ),
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("venue snapshot failed: %s", describe(exc, 200))
            await asyncio.sleep(state.config.snapshot_interval_s)
