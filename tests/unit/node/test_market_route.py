"""``MarketDataLoop.route``: a batch decoded at once routes exactly as record by
record does, and a batch holding a bad record falls back to record by record, so
the bad one is dead-lettered with its reason and the rest routed in order."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from livecore.node.interest import InterestMap
from livecore.node.loop import LoopSettings
from livecore.node.market import MarketDataLoop
from livecore.ports.bus import Record
from livecore.wire import codec
from livecore.wire.messages import Tick


class Collecting:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def offer_market(self, slots: list[Any]) -> int:
        self.events += [(slot.symbol, str(slot.event.price)) for slot in slots]
        return 0


class Letters:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def send(self, record: Record, reason: str) -> None:
        self.sent.append((record.offset, reason))


def loop(max_age_s: float | None = None) -> tuple[MarketDataLoop, dict[str, Collecting], Letters]:
    interest, processors, letters = InterestMap(), {"p1": Collecting(), "p2": Collecting()}, Letters()
    interest.set("p1", ["AAA", "BBB"])
    interest.set("p2", ["BBB"])
    market = MarketDataLoop(
        consumer_factory=lambda: None,  # type: ignore[arg-type,return-value]
        should_run=lambda: True,
        settings=LoopSettings(poll_batch=100, poll_timeout_s=0.1),
        interest=interest,
        portfolios=processors,  # type: ignore[arg-type]
        dead_letters=letters,  # type: ignore[arg-type]
        service=lambda: None,
        max_age_s=max_age_s,
    )
    return market, processors, letters


def tick(symbol: str, price: str, age_s: float = 0.0, v: int = 1) -> bytes:
    return codec.encode(Tick(symbol=symbol, ts_ns=time.time_ns() - int(age_s * 1e9), price=Decimal(price), v=v))


def records(*payloads: bytes) -> list[Record]:
    return [Record("md", 0, offset, None, payload, 0) for offset, payload in enumerate(payloads)]


def state(market: MarketDataLoop, processors: dict[str, Collecting], letters: Letters) -> tuple[Any, ...]:
    counts = (market.events, market.settled, market.routed, market.stale, market.unrouted)
    return counts, {pid: p.events for pid, p in processors.items()}, letters.sent


def test_a_batch_at_once_routes_as_record_by_record() -> None:
    batch = records(tick("AAA", "1"), tick("BBB", "2"), tick("ZZZ", "3"), tick("AAA", "4", age_s=60), tick("BBB", "5"))
    at_once, each = loop(max_age_s=5), loop(max_age_s=5)
    at_once[0].route(batch)
    each[0]._route_each(batch)
    assert state(*at_once) == state(*each)
    counts, delivered, letters = state(*at_once)
    assert counts == (5, 5, 3, 1, 1) and letters == []
    assert delivered == {"p1": [("AAA", "1"), ("BBB", "2"), ("BBB", "5")], "p2": [("BBB", "2"), ("BBB", "5")]}
    assert at_once[0].market_time_ns == each[0].market_time_ns > 0


def test_a_bad_record_is_dead_lettered_alone_and_the_rest_routed_in_order() -> None:
    market, processors, letters = loop()
    two_in_one = tick("AAA", "8") + b"," + tick("AAA", "9")
    market.route(records(tick("AAA", "1"), b"{not json", tick("AAA", "2"), tick("AAA", "3", v=7), two_in_one))
    assert processors["p1"].events == [("AAA", "1"), ("AAA", "2")]
    assert [offset for offset, _ in letters.sent] == [1, 3, 4]
    assert "undecodable market event" in letters.sent[0][1]
    assert "schema version 7" in letters.sent[1][1]
    assert (market.events, market.settled, market.routed) == (5, 5, 2)
