"""The live feed on the simulator's public websockets with real ccxt.pro:
trades, the ticker and closed bars reach ``market.data``; a failing stream is
reconnected and its gap counted."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from livecore.adapters.factory import open_bus
from livecore.feed.config import FeedConfig
from livecore.feed.runner import FeedRunner
from livecore.testing.servers import wait_until
from livecore.testing.venue_gateway import sim_settings
from livecore.venues.ccxt.feed import FeedKind, LiveFeed, LiveFeedSettings
from livecore.venues.ccxt.profiles import PROFILES, build_client
from livecore.venues.sim.server import VenueSimServer
from livecore.wire.codec import market_events
from livecore.wire.messages import Bar, MarketEvent, Tick
from livecore.wire.names import Topics

BTC = "BTC/USDT"


class Clock:
    """The simulator's clock, moved by the test (bars close when time passes)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[VenueSimServer]:
    with VenueSimServer(sim_settings(), clock=clock) as server:
        yield server


def start(sim: VenueSimServer, kind: FeedKind, **extra: Any) -> LiveFeed:
    settings = LiveFeedSettings(symbols=(BTC,), kind=kind, backoff_s=0.05, max_backoff_s=0.2, **extra)
    feed = LiveFeed(settings, lambda: build_client(PROFILES["binance"], None, sandbox=True, venue_url=sim.url))
    feed.start()
    return feed


def collect(feed: LiveFeed, count: int, timeout: float = 15.0) -> list[MarketEvent]:
    events: list[MarketEvent] = []
    deadline = time.monotonic() + timeout
    for _, event in feed.schedule():
        events.append(event)
        if len(events) >= count or time.monotonic() > deadline:
            break
    return events


class Printer:
    """Prints on the simulator's tape every 50 ms until stopped: the feed's
    subscription is made at some moment the test cannot see, so the test prints
    until what it waits for arrives."""

    def __init__(self, step: Callable[[int], None]) -> None:
        self._step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.05):
            self._step(n)
            n += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_trades_become_ticks_on_market_data(sim: VenueSimServer) -> None:
    feed = start(sim, FeedKind.TRADES)
    bus = open_bus(f"memory://feed-{uuid.uuid4().hex[:8]}")
    reader = bus.consumer("reader", [Topics("").market_data], "earliest")
    runner = FeedRunner(bus, feed.schedule(), FeedConfig(), name="feed-live")
    runner.start()
    printer = Printer(lambda n: sim.venue.trade(BTC, str(50_000 + n), "0.5"))
    seen: list[Tick] = []

    def arrived() -> bool:
        for record in reader.poll(100, 0.05):
            event = market_events.decode(record.value)
            assert isinstance(event, Tick)
            seen.append(event)
        return len(seen) >= 3

    try:
        wait_until(arrived, 15, "three ticks on market.data")
        printer.stop()
        first = int(seen[0].price) - 50_000
        assert [(t.price, t.size) for t in seen[:3]] == [(D(50_000 + first + i), D("0.5")) for i in range(3)]
        assert feed.counters.missed_trades == 0 and feed.counters.events >= 3
    finally:
        printer.stop()
        feed.stop()
        runner.stop()
        bus.close()


def test_the_ticker_carries_the_last_price(sim: VenueSimServer) -> None:
    feed = start(sim, FeedKind.TICKER)
    printer = Printer(lambda n: sim.venue.trade(BTC, "50100", "0.1"))
    try:
        [tick] = collect(feed, 1)
        assert isinstance(tick, Tick) and tick.symbol == BTC and tick.price == D(50100)
    finally:
        printer.stop()
        feed.stop()


def test_a_bar_is_published_once_its_minute_closed(sim: VenueSimServer, clock: Clock) -> None:
    feed = start(sim, FeedKind.BARS, timeframe="1m")
    clock.now = (int(clock.now) // 60) * 60 + 1.0  # one second into a minute

    def one_minute(n: int) -> None:  # two prints in each minute, then the next minute
        sim.venue.trade(BTC, str(50_000 + n), "1")
        sim.venue.trade(BTC, str(50_100 + n), "1")
        clock.now += 60

    printer = Printer(one_minute)
    try:
        _, bar = collect(feed, 2)  # the first minute also holds the simulator's opening print
        printer.stop()
        assert isinstance(bar, Bar) and bar.interval_s == 60
        assert bar.close == bar.high == bar.open + 100 and bar.volume == 2
        assert bar.ts_ns % (60 * 10**9) == 0  # stamped at its close
    finally:
        printer.stop()
        feed.stop()
