"""Round-trip trades from fills: what win rate and profit factor count.

A round trip of one portfolio in one symbol opens when the position leaves
zero and closes when it is back at zero; a fill that crosses zero (long to
short) closes one trip and opens the next with the excess quantity, sharing
the fill's commission pro rata. The position is the one the books hold: a fee
taken in the base reduces it. What is left below one lot (``lot_size``: the
dust such a fee leaves once whole lots are sold) is no position, as the
portfolio's pipeline sees it: the trip closes there and the dust opens the
next one. A trip's P&L is what its sells brought in
minus what its buys cost, net of its commissions. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from livecore.backtest.records import FillRecord
from livecore.domain.books import ACCOUNTING

ZERO = Decimal(0)


@dataclass(slots=True)
class RoundTrip:
    """One entry-to-flat trade."""

    portfolio_id: str
    symbol: str
    direction: str  # "long" | "short"
    entry_ns: int
    exit_ns: int | None = None
    quantity: Decimal = ZERO  # the largest absolute position held
    cash_flow: Decimal = ZERO  # sells minus buys
    commission: Decimal = ZERO
    fills: int = 0

    @property
    def closed(self) -> bool:
        return self.exit_ns is not None

    @property
    def pnl(self) -> Decimal:
        return self.cash_flow - self.commission


@dataclass(slots=True)
class _Open:
    position: Decimal = ZERO
    trip: RoundTrip | None = None
    last: RoundTrip | None = None  # the trip that closed leaving dust: a fill selling it belongs there


def round_trips(fills: Iterable[FillRecord], *, lot_size: Decimal = ZERO) -> list[RoundTrip]:
    """Every round trip, closed and still open, in the order they opened."""
    books: dict[tuple[str, str], _Open] = {}
    ordered: list[RoundTrip] = []
    with localcontext(ACCOUNTING):
        for fill in fills:
            state = books.setdefault((fill.portfolio_id, fill.symbol), _Open())
            remaining, commission = fill.position_change, fill.quote_commission
            before = state.position
            while remaining:
                part = remaining
                if state.position and (state.position > 0) != (remaining > 0):
                    part = max(remaining, -state.position) if remaining < 0 else min(remaining, -state.position)
                share = commission if part == remaining else commission * abs(part) / abs(remaining)
                trip = _trip_for(state, part, fill, ordered)
                trip.cash_flow -= part * fill.price
                trip.commission += share
                trip.fills += 1
                state.position += part
                trip.quantity = max(trip.quantity, abs(state.position))
                commission -= share
                remaining -= part
                if not state.position:
                    trip.exit_ns = fill.ts_ns
                    state.trip = state.last = None
            current = state.trip
            if current is not None and state.position and abs(state.position) < min(lot_size, abs(before)):
                current.exit_ns = fill.ts_ns  # what is left is dust a fee left: no position
                state.trip, state.last = None, current
    return ordered


def _trip_for(state: _Open, part: Decimal, fill: FillRecord, ordered: list[RoundTrip]) -> RoundTrip:
    """The trip ``part`` of ``fill`` belongs to: the open one; the one whose dust it
    sells; or a new one."""
    if state.trip is not None:
        return state.trip
    if state.last is not None and state.position and (state.position > 0) != (part > 0):
        state.last.exit_ns = fill.ts_ns
        return state.last
    state.last = None
    state.trip = RoundTrip(
        portfolio_id=fill.portfolio_id,
        symbol=fill.symbol,
        direction="long" if part > 0 else "short",
        entry_ns=fill.ts_ns,
    )
    ordered.append(state.trip)
    return state.trip
