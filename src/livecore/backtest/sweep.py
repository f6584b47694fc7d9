"""Parameter sweeps: one spec, a grid of strategy parameters, one backtest per
combination, run across processes; rows sorted by a chosen statistic.

Each combination is the spec with its strategy parameters replaced, validated
exactly as a spec file's are (types, bounds, cross-parameter checks): a
combination the strategy refuses (``fast >= slow``) is reported, not run.
"""

from __future__ import annotations

import csv
import itertools
import os
import tomllib
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.runner import BacktestRequest, load_events, load_specs, portfolio_stats
from livecore.backtest.stats import Stats
from livecore.domain.spec import PortfolioSpec, parse_spec
from livecore.errors import ConfigError
from livecore.wire.messages import MarketEvent

SORTABLE = (
    "sharpe",
    "sortino",
    "total_return",
    "cagr",
    "max_drawdown",
    "profit_factor",
    "win_rate",
    "volatility",
    "trades",
    "exposure",
)


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One combination: its parameters and either its statistics or why it was not run."""

    params: dict[str, Any]
    stats: Stats | None
    problem: str | None = None


def parse_grid(options: Sequence[str]) -> dict[str, list[Any]]:
    """``["fast=5,10", "slow=20"]`` -> ``{"fast": [5, 10], "slow": [20]}``; each value
    is read as a TOML value (``5``, ``0.5``, ``true``), or else kept as text."""
    grid: dict[str, list[Any]] = {}
    for option in options:
        name, sep, values = option.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ConfigError(f"--param {option!r}: expected NAME=V1,V2,...")
        if name in grid:
            raise ConfigError(f"--param {name} is given twice")
        grid[name] = [_value(v.strip()) for v in values.split(",") if v.strip()]
    if not grid:
        raise ConfigError("a sweep needs at least one --param NAME=V1,V2,...")
    return grid


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def with_params(spec: PortfolioSpec, overrides: Mapping[str, Any]) -> PortfolioSpec:
    """``spec`` with strategy parameters replaced; ``ConfigError`` lists every problem."""
    strategy = spec.strategy
    values, problems = strategy.cls.param_problems({**strategy.params, **overrides})
    if problems:
        raise ConfigError("; ".join(str(p) for p in problems))
    return replace(spec, strategy=replace(strategy, params=values))


_WORKER: dict[str, Any] = {}  # per process: the parsed spec and the events, read once


def _load(request: BacktestRequest, toml_text: str, source: str) -> None:
    """Each worker parses the spec (a spec holds classes and read-only mappings:
    it travels as its TOML text) and reads the data once."""
    spec = parse_spec(toml_text, source=source)
    _WORKER["spec"] = spec
    _WORKER["events"] = load_events(request.data, [spec], request.start, request.end)


def _one(request: BacktestRequest, overrides: dict[str, Any]) -> SweepRow:
    spec: PortfolioSpec = _WORKER["spec"]
    events: list[MarketEvent] = _WORKER["events"]
    try:
        variant = with_params(spec, overrides)
    except ConfigError as exc:
        return SweepRow(params=overrides, stats=None, problem=str(exc))
    result = Backtest(specs=[variant], settings=BacktestSettings(paper=request.paper)).run(events)
    (stats,) = portfolio_stats(result)
    return SweepRow(params=overrides, stats=stats)


def sweep(request: BacktestRequest, grid: Mapping[str, Sequence[Any]], *, workers: int | None = None) -> list[SweepRow]:
    """Every combination of ``grid`` for the one spec of ``request``, in grid order."""
    specs = load_specs(request.specs)
    if len(specs) != 1:
        raise ConfigError(f"a sweep runs one spec, got {len(specs)}")
    spec = specs[0]
    combos = combinations(grid)
    processes = max(1, min(workers or os.cpu_count() or 1, len(combos)))
    initargs = (request, spec.to_toml(), spec.source)
    if processes == 1:
        _load(*initargs)
        return [_one(request, c) for c in combos]
    with ProcessPoolExecutor(max_workers=processes, initializer=_load, initargs=initargs) as pool:
        return list(pool.map(_one, itertools.repeat(request), combos))


def ranked(rows: Sequence[SweepRow], key: str) -> list[SweepRow]:
    """Best first by ``key`` (higher is better; a drawdown is <= 0, so closer to 0
    ranks higher); rows without the figure, or not run, last in grid order."""
    if key not in SORTABLE:
        raise ConfigError(f"--sort {key!r}: one of {', '.join(SORTABLE)}")

    def figure(row: SweepRow) -> float | None:
        return None if row.stats is None else getattr(row.stats, key)

    valued = [r for r in rows if figure(r) is not None]
    rest = [r for r in rows if figure(r) is None]
    return sorted(valued, key=lambda r: -float(figure(r) or 0.0)) + rest


def fragment(params: Mapping[str, Any]) -> str:
    """The spec lines that select a combination."""
    values = ", ".join(f"{name} = {_toml(value)}" for name, value in params.items())
    return f"[strategy]\nparams = {{ {values} }}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_sweep(path: Path, rows: Sequence[SweepRow], names: Sequence[str]) -> None:
    """One row per combination, in ranked order: its parameters, then its statistics."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stat_names = [f.name for f in fields(Stats)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*names, *stat_names, "problem"])
        for row in rows:
            values = row.stats.to_dict() if row.stats is not None else {}
            writer.writerow(
                [*(row.params[n] for n in names), *(values.get(s, "") for s in stat_names), row.problem or ""]
            )
