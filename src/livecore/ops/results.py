"""A run's results per portfolio, as a backtest reports them (``backtest/stats.py``).

Fills, round trips, commission and order counts come from the gateway
journal, exactly. The equity curve comes, for an event-time replay, from
marking the journal's fills against the replayed data (``backtest/marks.py``:
the very curve a backtest of that run records); otherwise from equity samples
the caller took while the system ran (``samples``), which make the curve and
the figures drawn from it (volatility, ratios, drawdown, exposure) only as
fine as the sampling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from livecore.backtest.marks import equity_curve
from livecore.backtest.records import EquityPoint, FillRecord
from livecore.backtest.stats import Stats, stats_for
from livecore.domain.spec import PortfolioSpec, parse_spec
from livecore.ops.trades import journal_fills
from livecore.ports.store import Store
from livecore.wire.messages import MarketEvent


def _specs(store: Store) -> list[PortfolioSpec]:
    specs = []
    for entry in store.registry.list():
        try:
            specs.append(parse_spec(entry.spec_toml, source=entry.portfolio_id))
        except Exception:
            continue  # a spec that no longer parses has no results to give
    return sorted(specs, key=lambda s: s.id)


def run_results(
    store: Store,
    *,
    events: Sequence[MarketEvent] | None = None,
    samples: Mapping[str, Sequence[EquityPoint]] | None = None,
) -> list[Stats]:
    """Each registered portfolio's statistics (``events``: the replayed data of an
    event-time run; else ``samples``, the equity seen while it ran)."""
    specs = _specs(store)
    ids = [s.id for s in specs]
    fills: dict[str, list[FillRecord]] = {pid: [] for pid in ids}
    for fill in journal_fills(store.journal, portfolios=ids, currencies={s.id: s.currency for s in specs}):
        fills[fill.portfolio_id].append(fill)
    if events is not None:
        curve = equity_curve(
            events,
            [f for pid in ids for f in fills[pid]],
            opening_cash={s.id: s.initial_cash for s in specs},
            universes={s.id: frozenset(s.symbols) for s in specs},
        )
        points: dict[str, list[EquityPoint]] = {pid: [] for pid in ids}
        for point in curve:
            points[point.portfolio_id].append(point)
    else:
        points = {pid: list((samples or {}).get(pid, ())) for pid in ids}
    orders = {pid: len(store.journal.orders(pid)) for pid in ids}
    return stats_for(
        [(s.id, s.initial_cash) for s in specs],
        points=points,
        fills=fills,
        orders=orders,
        lot_sizes={s.id: s.build_sizer().lot_size for s in specs},
    )
