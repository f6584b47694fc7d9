"""Parameter sweeps: the grid, validation of each combination, ranking, and
that a sweep's row is the backtest of that combination."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.runner import BacktestRequest, load_events
from livecore.backtest.stats import compute
from livecore.backtest.sweep import SweepRow, combinations, fragment, parse_grid, ranked, sweep, with_params
from livecore.backtest.trades import round_trips
from livecore.cli.app import app
from livecore.domain.spec import load_spec
from livecore.errors import ConfigError

SPEC = Path(__file__).resolve().parents[3] / "examples" / "portfolios" / "ma_crossover_aapl.toml"


def test_grid_values_are_read_as_toml() -> None:
    grid = parse_grid(["fast=5, 10", "num_std=1.5,2", "short=true", "mode=abc"])
    assert grid == {"fast": [5, 10], "num_std": [1.5, 2], "short": [True], "mode": ["abc"]}
    assert len(combinations(grid)) == 4


@pytest.mark.parametrize("bad", [["fast"], ["=5"], ["fast="], ["fast=1", "fast=2"], []])
def test_bad_grid_is_refused(bad: list[str]) -> None:
    with pytest.raises(ConfigError):
        parse_grid(bad)


def test_a_combination_is_validated_like_a_spec_file() -> None:
    spec = load_spec(SPEC)
    assert dict(with_params(spec, {"fast": 3}).strategy.params) == {"fast": 3, "slow": 20, "short": False}
    with pytest.raises(ConfigError, match="smaller than slow"):
        with_params(spec, {"fast": 30})
    with pytest.raises(ConfigError, match="unknown parameter"):
        with_params(spec, {"window": 3})


def test_ranking_puts_rows_without_a_figure_last() -> None:
    spec = load_spec(SPEC)
    rows = sweep(BacktestRequest(specs=[SPEC]), {"fast": [5, 10, 25], "slow": [20]}, workers=1)
    order = ranked(rows, "sharpe")
    assert [r.params["fast"] for r in order][-1] == 25 and order[-1].stats is None
    assert order[0].stats is not None and order[1].stats is not None
    assert (order[0].stats.sharpe or 0) >= (order[1].stats.sharpe or 0)
    assert fragment({"fast": 10, "slow": 20}) == "[strategy]\nparams = { fast = 10, slow = 20 }"
    with pytest.raises(ConfigError):
        ranked([SweepRow(params={}, stats=None)], "luck")
    # a sweep's row is exactly the backtest of that combination
    variant = with_params(spec, {"fast": 10})
    result = Backtest(specs=[variant], settings=BacktestSettings()).run(load_events(None, [variant], None, None))
    alone = compute(
        portfolio_id=variant.id,
        initial_equity=variant.initial_cash,
        points=result.records.equity,
        fills=result.records.fills,
        trips=round_trips(result.records.fills),
        orders=len(result.records.orders),
    )
    assert next(r.stats for r in rows if r.params["fast"] == 10) == alone


def test_cli_sweep_across_processes(tmp_path: Path) -> None:
    args = ["backtest", str(SPEC), "--param", "fast=5,10", "--param", "slow=20,50", "--sort", "total_return"]
    result = CliRunner().invoke(app, [*args, "--json", "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 4
    returns = [r["stats"]["total_return"] for r in rows]
    assert returns == sorted(returns, reverse=True)
    assert (tmp_path / "sweep.csv").read_text().count("\n") == 5
    table = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "t")], catch_exceptions=False)
    assert "best by total_return:" in table.output and "[strategy]" in table.output
