"""A live market-data feed from a venue's public websockets (ccxt.pro).

One watch loop per symbol on the feed's event loop (``loop.py``): ``trades``
(each trade a ``Tick`` with its size), ``ticker`` (a ``Tick`` at the last
price with bid and ask) or ``bars`` of a timeframe (a ``Bar`` once its
interval closed: ccxt hands the open candle again and again, and a candle is
final when the next one starts). Events go to a queue the feed's publishing
loop (``feed/runner.py``'s ``FeedRunner``) reads as a schedule.

A watch that fails is counted and logged, and tried again with a doubling
pause (``backoff_s`` up to ``max_backoff_s``); ccxt.pro reconnects on the
next call. What was missed while disconnected is a **gap**: counted and
logged with its length, and for trades also measured by the venue's trade
ids when they are numbers (Binance's are sequential per symbol), for bars by
the candles that never came. A feed publishes what the venue sends; it never
invents the missing events.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from livecore.checks import positive, require
from livecore.faults import describe
from livecore.venues.ccxt.loop import LoopThread
from livecore.venues.ccxt.markets import to_decimal
from livecore.wire.messages import Bar, MarketEvent, Tick

log = logging.getLogger(__name__)


class FeedKind(StrEnum):
    TRADES = "trades"
    TICKER = "ticker"
    BARS = "bars"


@dataclass(frozen=True, slots=True)
class LiveFeedSettings:
    symbols: tuple[str, ...]
    kind: FeedKind = FeedKind.TRADES
    timeframe: str = "1m"
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    queue_size: int = 100_000

    def __post_init__(self) -> None:
        require(bool(self.symbols), self, "symbols", "name at least one symbol")
        positive(self, "backoff_s", "max_backoff_s", "queue_size")


@dataclass(slots=True)
class FeedCounters:
    events: int = 0
    reconnects: int = 0
    gaps: int = 0
    missed_trades: int = 0  # by trade id, where ids are sequential numbers
    missed_bars: int = 0
    dropped: int = 0  # the publishing loop fell behind a full queue
    unreadable: int = 0
    per_symbol: dict[str, int] = field(default_factory=dict)


class LiveFeed:
    """Owns the loop and the client; ``schedule()`` is what ``FeedRunner`` publishes."""

    def __init__(self, settings: LiveFeedSettings, client_factory: Callable[[], Any]) -> None:
        self.settings = settings
        self.counters = FeedCounters()
        self._factory = client_factory
        self._client: Any = None
        self._queue: queue.Queue[MarketEvent] = queue.Queue(settings.queue_size)
        self._stop = threading.Event()
        self._loop = LoopThread("live-feed")
        self._interval_s = 0

    def start(self) -> None:
        self._loop.start()
        self._loop.call(self._open(), 60.0)
        for symbol in self.settings.symbols:
            self._loop.spawn(self._watch(symbol), f"watching {symbol}")

    async def _open(self) -> None:
        self._client = self._factory()
        markets = await self._client.load_markets()
        unknown = [s for s in self.settings.symbols if s not in markets]
        if unknown:
            raise ValueError(f"not markets of {self._client.id}: {', '.join(unknown)}")
        if self.settings.kind is FeedKind.BARS:
            self._interval_s = int(self._client.parse_timeframe(self.settings.timeframe))

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        self._loop.stop(client.close() if client is not None else None)

    def schedule(self) -> Iterator[tuple[float, MarketEvent]]:
        """Events as they come, each due at once, until ``stop``."""
        while not self._stop.is_set():
            try:
                yield 0.0, self._queue.get(timeout=0.2)
            except queue.Empty:
                continue

    # --- watching ---------------------------------------------------------------------

    async def _watch(self, symbol: str) -> None:
        pause = self.settings.backoff_s
        cut_at: float | None = None
        state = _SymbolState()
        while True:
            try:
                events = await self._next(symbol, state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if cut_at is None:
                    cut_at = time.monotonic()
                    self.counters.reconnects += 1
                    log.warning("feed %s: stream failed (%s): reconnecting", symbol, describe(exc, 200))
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.settings.max_backoff_s)
                continue
            if cut_at is not None:
                self.counters.gaps += 1
                log.warning("feed %s: back after a gap of %.1fs", symbol, time.monotonic() - cut_at)
                cut_at = None
            pause = self.settings.backoff_s
            for event in events:
                self._put(event)

    async def _next(self, symbol: str, state: _SymbolState) -> list[MarketEvent]:
        client, kind = self._client, self.settings.kind
        if kind is FeedKind.TRADES:
            return self._trades(symbol, await client.watch_trades(symbol), state)
        if kind is FeedKind.TICKER:
            tick = self._ticker(symbol, await client.watch_ticker(symbol, {"name": "ticker"}))
            return [] if tick is None else [tick]
        candles = await client.watch_ohlcv(symbol, self.settings.timeframe)
        return self._bars(symbol, candles, state)

    def _put(self, event: MarketEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.counters.dropped += 1
            return
        self.counters.events += 1
        per = self.counters.per_symbol
        per[event.symbol] = per.get(event.symbol, 0) + 1

    # --- reading what the venue sent ---------------------------------------------------

    def _trades(self, symbol: str, trades: Sequence[Any], state: _SymbolState) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for trade in trades:
            price, size = to_decimal(trade.get("price")), to_decimal(trade.get("amount"))
            if price is None or price <= 0 or size is None or size < 0:
                self.counters.unreadable += 1
                continue
            trade_id = str(trade.get("id") or "")
            if trade_id and trade_id == state.last_trade_id:
                continue  # ccxt hands a cached trade again
            missed = state.trade_gap(trade_id)
            if missed:
                self.counters.missed_trades += missed
                log.warning("feed %s: %d trade(s) missed before trade %s", symbol, missed, trade_id)
            out.append(Tick(symbol=symbol, ts_ns=_ns(trade.get("timestamp")), price=price, size=size))
        return out

    def _ticker(self, symbol: str, ticker: Any) -> Tick | None:
        price = to_decimal(ticker.get("last"))
        if price is None or price <= 0:
            self.counters.unreadable += 1
            return None
        bid, ask = to_decimal(ticker.get("bid")), to_decimal(ticker.get("ask"))
        return Tick(
            symbol=symbol,
            ts_ns=_ns(ticker.get("timestamp")),
            price=price,
            bid=bid if bid and bid > 0 else None,
            ask=ask if ask and ask > 0 else None,
        )

    def _bars(self, symbol: str, candles: Sequence[Sequence[Any]], state: _SymbolState) -> list[MarketEvent]:
        """The candles that closed: each one older than the newest seen."""
        out: list[MarketEvent] = []
        interval_ms = self._interval_s * 1000
        for candle in sorted(candles, key=lambda c: c[0]):
            opened = int(candle[0])
            if state.open_candle is not None and opened > state.open_candle[0]:
                bar = self._bar(symbol, state.open_candle)
                if bar is not None:
                    out.append(bar)
                missed = (opened - state.open_candle[0]) // interval_ms - 1 if interval_ms else 0
                if missed > 0:
                    self.counters.missed_bars += missed
                    log.warning("feed %s: %d bar(s) never came before %d", symbol, missed, opened)
            if state.open_candle is None or opened >= state.open_candle[0]:
                state.open_candle = list(candle)
        return out

    def _bar(self, symbol: str, candle: Sequence[Any]) -> Bar | None:
        values = [to_decimal(v) for v in candle[1:6]]
        if any(v is None for v in values[:4]):
            self.counters.unreadable += 1
            return None
        o, h, lo, c = (v for v in values[:4] if v is not None)
        volume = values[4] if values[4] is not None else Decimal(0)
        try:
            return Bar(
                symbol=symbol,
                ts_ns=(int(candle[0]) + self._interval_s * 1000) * 1_000_000,
                open=o,
                high=h,
                low=lo,
                close=c,
                volume=volume,
                interval_s=self._interval_s,
            )
        except ValueError:
            self.counters.unreadable += 1
            return None


@dataclass(slots=True)
class _SymbolState:
    last_trade_id: str = ""
    open_candle: list[Any] | None = None

    def trade_gap(self, trade_id: str) -> int:
        """Trades skipped before ``trade_id`` (numeric ids only); remembers it."""
        previous, self.last_trade_id = self.last_trade_id, trade_id or self.last_trade_id
        if previous.isdigit() and trade_id.isdigit():
            return max(int(trade_id) - int(previous) - 1, 0)
        return 0


def _ns(ms: Any) -> int:
    return int(ms) * 1_000_000 if isinstance(ms, (int, float)) and ms > 0 else time.time_ns()
