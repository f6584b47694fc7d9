"""An equity curve rebuilt from fills and the market data they traded on.

A run on the live path (``livecore run --event-time``) leaves its fills in the
gateway journal, stamped with the data's times. Marking them against the same
events, sampled as ``Backtest`` samples (at the end of every event time, for
each portfolio whose universe the time priced or that filled), gives the
equity curve a backtest of the same run records, so ``livecore run`` can
report the same statistics. Pure: events and fills in, points out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from livecore.backtest.records import EquityPoint, FillRecord
from livecore.domain.books import ACCOUNTING
from livecore.domain.fees import FeeKind
from livecore.wire.messages import MarketEvent

ZERO = Decimal(0)


@dataclass(slots=True)
class _Account:
    cash: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)

    def apply(self, fill: FillRecord) -> None:
        signed = fill.quantity if fill.side == "buy" else -fill.quantity
        fee = fill.commission if fill.fee_kind is FeeKind.QUOTE else ZERO
        self.cash -= signed * fill.price + fee
        left = self.positions.get(fill.symbol, ZERO) + fill.position_change
        if left:
            self.positions[fill.symbol] = left
        else:
            self.positions.pop(fill.symbol, None)

    def point(self, portfolio_id: str, ts_ns: int, prices: Mapping[str, Decimal]) -> EquityPoint:
        held = sum((q * prices.get(s, ZERO) for s, q in self.positions.items()), ZERO)
        return EquityPoint(
            portfolio_id=portfolio_id, ts_ns=ts_ns, equity=self.cash + held, cash=self.cash, positions_value=held
        )


def equity_curve(
    events: Iterable[MarketEvent],
    fills: Sequence[FillRecord],
    *,
    opening_cash: Mapping[str, Decimal],
    universes: Mapping[str, frozenset[str]],
) -> list[EquityPoint]:
    """The equity points of every portfolio of ``opening_cash``. A fill applies
    before the first event at or after its time (a paper fill carries the time
    of the event it filled on)."""
    accounts = {pid: _Account(cash) for pid, cash in opening_cash.items()}
    watchers: dict[str, list[str]] = {}
    for pid, symbols in universes.items():
        for symbol in symbols:
            watchers.setdefault(symbol, []).append(pid)
    pending = sorted((f for f in fills if f.portfolio_id in accounts), key=lambda f: f.ts_ns)
    prices: dict[str, Decimal] = {}
    points: list[EquityPoint] = []
    touched: set[str] = set(accounts)  # every opening account is recorded
    current: int | None = None
    next_fill = 0
    with localcontext(ACCOUNTING):
        for event in events:
            ts = event.ts_ns
            if current is not None and ts != current:
                points.extend(accounts[pid].point(pid, current, prices) for pid in sorted(touched))
                touched = set()
            current = ts
            while next_fill < len(pending) and pending[next_fill].ts_ns <= ts:
                fill = pending[next_fill]
                accounts[fill.portfolio_id].apply(fill)
                touched.add(fill.portfolio_id)
                next_fill += 1
            prices[event.symbol] = event.price
            touched.update(watchers.get(event.symbol, ()))
        if current is not None:
            points.extend(accounts[pid].point(pid, current, prices) for pid in sorted(touched))
    return points
