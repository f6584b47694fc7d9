"""Helpers for driving ccxt.pro against the venue simulator: a collector that
keeps calling one ``watch_*`` (reconnecting after a drop as a client does),
and waits on conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, ClassVar

from livecore.venues.sim.model import OrderType, Side
from livecore.venues.sim.venue import Venue

RETRY_PAUSE_S = 0.05  # between a failed watch and the next, as a client backs off


async def eventually(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


class Collector:
    """Calls ``watch()`` in a loop on the running loop; keeps what it returns and the errors."""

    _running: ClassVar[list[Collector]] = []

    def __init__(self, watch: Callable[[], Awaitable[Any]], *, many: bool = True) -> None:
        self.items: list[Any] = []
        self.errors: list[BaseException] = []
        self._watch = watch
        self._many = many
        self._task = asyncio.create_task(self._run())
        Collector._running.append(self)

    async def _run(self) -> None:
        while True:
            try:
                got = await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors.append(exc)
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            if self._many:
                self.items.extend(got)
            else:
                self.items.append(got)

    def by_order(self, order_id: str) -> list[Any]:
        return [item for item in self.items if item.get("order") == order_id]

    def last(self, order_id: str) -> dict[str, Any]:
        """The latest state of one order seen on the stream ({} if none yet)."""
        return next((item for item in reversed(self.items) if item.get("id") == order_id), {})

    def clear(self) -> None:
        self.items.clear()
        self.errors.clear()

    @classmethod
    async def stop_all(cls) -> None:
        running, cls._running = cls._running, []
        for collector in running:
            collector._task.cancel()
        await asyncio.gather(*(c._task for c in running), return_exceptions=True)


async def probe_private(venue: Venue, *collectors: Collector, symbol: str = "BTC/USDT") -> None:
    """Trade small amounts on ``venue`` until every collector has seen an event, so
    their subscriptions are live; then forget what they saw."""
    deadline = time.monotonic() + 10
    side = Side.BUY
    while not all(c.items for c in collectors):
        if time.monotonic() > deadline:
            raise AssertionError(f"no private event reached the watchers: {[c.errors for c in collectors]}")
        venue.place(symbol=symbol, side=side, type=OrderType.MARKET, qty=Decimal("0.001"))
        side = Side.SELL if side is Side.BUY else Side.BUY
        await asyncio.sleep(0.05)
    for collector in collectors:
        collector.clear()
