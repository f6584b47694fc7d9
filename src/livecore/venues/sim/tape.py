"""The public tape: the statistics a venue streams besides its trades.

Pure: ``record`` takes each print; the ticker covers every print since the
simulator started (its "24 hours"), the klines are per interval bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from livecore.venues.sim.model import PublicTrade

INTERVALS_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
}


@dataclass(frozen=True)
class Stats:
    """Open/high/low/close and volumes over a span of prints."""

    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    first_trade_id: int
    last_trade_id: int
    count: int
    close_qty: Decimal

    @staticmethod
    def start(trade: PublicTrade, open_ms: int, close_ms: int) -> Stats:
        return Stats(
            open_ms=open_ms,
            close_ms=close_ms,
            open=trade.price,
            high=trade.price,
            low=trade.price,
            close=trade.price,
            volume=trade.qty,
            quote_volume=trade.price * trade.qty,
            first_trade_id=trade.trade_id,
            last_trade_id=trade.trade_id,
            count=1,
            close_qty=trade.qty,
        )

    def add(self, trade: PublicTrade) -> Stats:
        return replace(
            self,
            high=max(self.high, trade.price),
            low=min(self.low, trade.price),
            close=trade.price,
            volume=self.volume + trade.qty,
            quote_volume=self.quote_volume + trade.price * trade.qty,
            last_trade_id=trade.trade_id,
            count=self.count + 1,
            close_qty=trade.qty,
        )


@dataclass(frozen=True)
class TapeUpdate:
    """One print with the ticker and the klines after it (what the public streams send)."""

    trade: PublicTrade
    ticker: Stats
    klines: dict[str, Stats]


class Tape:
    """Ticker and klines of every market."""

    def __init__(self) -> None:
        self._tickers: dict[str, Stats] = {}
        self._klines: dict[tuple[str, str], Stats] = {}

    def record(self, trade: PublicTrade) -> TapeUpdate:
        ticker = self._tickers.get(trade.symbol)
        ticker = Stats.start(trade, trade.time_ms, trade.time_ms) if ticker is None else ticker.add(trade)
        self._tickers[trade.symbol] = ticker = replace(ticker, close_ms=trade.time_ms)
        klines: dict[str, Stats] = {}
        for name, span in INTERVALS_MS.items():
            opened = trade.time_ms - trade.time_ms % span
            current = self._klines.get((trade.symbol, name))
            if current is None or current.open_ms != opened:
                current = Stats.start(trade, opened, opened + span - 1)
            else:
                current = current.add(trade)
            self._klines[(trade.symbol, name)] = klines[name] = current
        return TapeUpdate(trade, ticker, klines)

    def ticker(self, symbol: str) -> Stats | None:
        return self._tickers.get(symbol)
