"""One ``livecore backtest`` run: specs and data in, files and statistics out.

The I/O around the pure engine: read the spec files (as ``livecore portfolio
deploy`` does), read the data with the feed's readers (as ``livecore feed
replay`` does), keep the window asked for, run, compute the statistics and
write the files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from livecore.backtest.engine import Backtest, BacktestResult, BacktestSettings, Progress
from livecore.backtest.outputs import write_outputs
from livecore.backtest.records import EquityPoint, FillRecord
from livecore.backtest.stats import NS_PER_DAY, Stats, stats_for
from livecore.domain.spec import PortfolioSpec
from livecore.errors import ConfigError
from livecore.feed.bundled import bundled_data_dir
from livecore.feed.columns import parse_timestamp
from livecore.feed.readers import load_replay
from livecore.gateway.paper import PaperSettings
from livecore.ops.portfolios import read_specs
from livecore.ops.validate import spec_files
from livecore.wire.messages import MarketEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRequest:
    """What to run: spec files or folders, data (None: the bundled data), an
    inclusive date window and the paper gateway's fill model."""

    specs: Sequence[Path]
    data: Path | None = None
    start: str | None = None
    end: str | None = None
    paper: PaperSettings = field(default_factory=PaperSettings)


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    result: BacktestResult
    stats: list[Stats]
    run: dict[str, Any]


def window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """``[start_ns, end_ns)``; a bare date as ``end`` includes that whole day."""
    start_ns = parse_timestamp(start, "--start") if start else None
    end_ns = None
    if end:
        end_ns = parse_timestamp(end, "--end")
        if _is_date(end):
            end_ns += NS_PER_DAY
        else:
            end_ns += 1
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise ConfigError(f"--end {end} is not after --start {start}")
    return start_ns, end_ns


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def load_specs(paths: Sequence[Path]) -> list[PortfolioSpec]:
    files = [file for path in paths for file in spec_files(path)]
    if not files:
        raise ConfigError("no spec files found in " + ", ".join(str(p) for p in paths))
    return read_specs(files)


def load_events(
    data: Path | None, specs: Sequence[PortfolioSpec], start: str | None, end: str | None
) -> list[MarketEvent]:
    """The events of the specs' symbols (every symbol if one spec names none) in the window."""
    symbols: set[str] | None = set()
    for spec in specs:
        if not spec.symbols:
            symbols = None
            break
        assert symbols is not None
        symbols.update(spec.symbols)
    replay = load_replay(data or bundled_data_dir(), sorted(symbols) if symbols is not None else None)
    start_ns, end_ns = window(start, end)
    events = [
        e for e in replay.events if (start_ns is None or e.ts_ns >= start_ns) and (end_ns is None or e.ts_ns < end_ns)
    ]
    if not events:
        raise ConfigError(f"no data between {start or 'the start'} and {end or 'the end'}")
    return events


def portfolio_stats(result: BacktestResult) -> list[Stats]:
    """Each spec's statistics, in spec order; the records are split by portfolio
    once (one pass each), not filtered again for every portfolio."""
    records = result.records
    points: dict[str, list[EquityPoint]] = defaultdict(list)
    fills: dict[str, list[FillRecord]] = defaultdict(list)
    orders: Counter[str] = Counter()
    for point in records.equity:
        points[point.portfolio_id].append(point)
    for fill in records.fills:
        fills[fill.portfolio_id].append(fill)
    for record in records.orders.values():
        orders[record.order.portfolio_id] += 1
    return stats_for(
        [(s.id, s.initial_cash) for s in result.specs],
        points=points,
        fills=fills,
        orders=orders,
        lot_sizes={s.id: s.build_sizer().lot_size for s in result.specs},
    )


def run_backtest(request: BacktestRequest, *, progress: Progress | None = None) -> BacktestOutcome:
    specs = load_specs(request.specs)
    events = load_events(request.data, specs, request.start, request.end)
    result = Backtest(specs=specs, settings=BacktestSettings(paper=request.paper)).run(events, progress=progress)
    stats = portfolio_stats(result)
    costs = request.paper.costs
    run = {
        "specs": [str(spec.source) for spec in specs],
        "data": str(request.data) if request.data else "bundled",
        "start": request.start,
        "end": request.end,
        "events": result.events,
        "costs": {
            "slippage_bps": str(costs.slippage_bps),
            "commission_per_share": str(costs.commission_per_share),
            "commission_bps": str(costs.commission_bps),
            "commission_min": str(costs.commission_min),
            "participation": None if request.paper.participation is None else str(request.paper.participation),
            "fee_asset": request.paper.fee_asset,
            "fee_asset_price": None if request.paper.fee_asset_price is None else str(request.paper.fee_asset_price),
        },
        "faults": {pid: p.fault for pid, p in result.portfolios.items() if p.fault},
    }
    return BacktestOutcome(result=result, stats=stats, run=run)


def write(outcome: BacktestOutcome, out: Path) -> None:
    write_outputs(out, outcome.result, outcome.stats, outcome.run)
