"""The live feed's bookkeeping with a scripted client: a failed watch is a
reconnect, the time until data comes back a gap, skipped trade ids and bars
are counted, cached repeats are not published twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

from livecore.venues.ccxt.feed import FeedKind, LiveFeed, LiveFeedSettings
from livecore.wire.messages import Bar, MarketEvent, Tick


class Scripted:
    """A ccxt.pro stand-in: each watch call returns the next scripted answer (or raises it)."""

    id = "scripted"

    def __init__(self, answers: list[Any]) -> None:
        self._answers: Iterator[Any] = iter(answers)

    async def load_markets(self) -> dict[str, Any]:
        return {"BTC/USDT": {}}

    def parse_timeframe(self, timeframe: str) -> int:
        return 60

    async def _next(self) -> Any:
        answer = next(self._answers, None)
        if answer is None:
            await asyncio.sleep(3600)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def watch_trades(self, symbol: str) -> Any:
        return await self._next()

    async def watch_ohlcv(self, symbol: str, timeframe: str) -> Any:
        return await self._next()

    async def close(self) -> None:
        return None


def run(kind: FeedKind, answers: list[Any], count: int) -> tuple[LiveFeed, list[MarketEvent]]:
    settings = LiveFeedSettings(symbols=("BTC/USDT",), kind=kind, backoff_s=0.01, max_backoff_s=0.02)
    feed = LiveFeed(settings, lambda: Scripted(answers))
    feed.start()
    events: list[MarketEvent] = []
    try:
        for _, event in feed.schedule():
            events.append(event)
            if len(events) == count:
                break
    finally:
        feed.stop()
    return feed, events


def trade(tid: int, price: str) -> dict[str, Any]:
    return {"id": str(tid), "price": float(price), "amount": 0.5, "timestamp": 1_700_000_000_000 + tid}


def test_a_failed_watch_is_a_reconnect_and_skipped_ids_are_missed_trades() -> None:
    answers = [
        [trade(1, "100")],
        ConnectionError("reset"),
        ConnectionError("refused"),
        [trade(1, "100"), trade(2, "101")],  # ccxt's cache hands trade 1 again
        [trade(5, "102")],
    ]
    feed, events = run(FeedKind.TRADES, answers, 3)
    assert [e.price for e in events if isinstance(e, Tick)] == [D(100), D(101), D(102)]
    c = feed.counters
    assert (c.reconnects, c.gaps, c.missed_trades) == (1, 1, 2)


def test_bars_close_when_the_next_candle_starts_and_missing_ones_are_counted() -> None:
    minute = 60_000
    answers = [
        [[0, 10, 12, 9, 11, 5]],
        [[0, 10, 13, 9, 12, 6]],  # the same candle, updated
        [[0, 10, 13, 9, 12, 6], [minute, 12, 12, 12, 12, 1]],  # the first closed
        [[4 * minute, 12, 14, 12, 14, 2]],  # minutes 2 and 3 never came
        [[5 * minute, 14, 14, 14, 14, 1]],
    ]
    feed, events = run(FeedKind.BARS, answers, 3)
    bars = [e for e in events if isinstance(e, Bar)]
    assert [(b.open, b.high, b.close, b.volume) for b in bars] == [
        (D(10), D(13), D(12), D(6)),
        (D(12), D(12), D(12), D(1)),
        (D(12), D(14), D(14), D(2)),
    ]
    assert [b.ts_ns // 10**6 for b in bars] == [minute, 2 * minute, 5 * minute]
    assert feed.counters.missed_bars == 2
