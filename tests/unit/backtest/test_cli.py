"""``livecore backtest`` end to end on the bundled data: files, determinism,
JSON, and clear errors for bad input."""

from __future__ import annotations

import csv
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livecore.cli.app import app
from livecore.errors import ConfigError, LivecoreError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "portfolios"
FILES = ("trades.csv", "orders.csv", "equity.csv", "stats.json", "report.html")


def _run(*args: str) -> object:
    return CliRunner().invoke(app, ["backtest", *args], catch_exceptions=False)


def test_writes_every_file_and_the_same_bytes_twice(tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = _run(str(EXAMPLES), "--out", str(tmp_path / name), "--commission-bps", "5", "--quiet")
        assert result.exit_code == 0, result.output
    for file in FILES:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    with (tmp_path / "a" / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {
        "portfolio_id",
        "client_order_id",
        "fill_id",
        "symbol",
        "side",
        "quantity",
        "price",
        "commission",
        "commission_asset",
        "ts",
    } <= set(rows[0])
    assert rows[0]["ts"].endswith("Z") and rows[0]["ts"].startswith("2010-")
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert set(stats["portfolios"]) == {"bollinger-ibm", "breakout-msft-goog", "hold-basket", "ma-aapl", "ma-ls-goog"}
    assert all(p["commission"] > 0 for p in stats["portfolios"].values())
    page = (tmp_path / "a" / "report.html").read_text()
    assert "<polyline" in page and "http" not in page  # a curve, and nothing fetched from the network


def _trades(folder: Path) -> list[dict[str, str]]:
    with (folder / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_fee_asset_quote_or_base(tmp_path: Path) -> None:
    """The quote by default (named in ``commission_asset``); ``--fee-asset base`` charges
    the bought asset, as a venue does: the position pays, so a sell is short of the buy."""
    spec = str(EXAMPLES / "ma_crossover_aapl.toml")
    for mode in ("quote", "base"):
        args = (spec, "--commission-bps", "10", "--fee-asset", mode, "--out", str(tmp_path / mode), "--quiet")
        assert _run(*args).exit_code == 0
    quote, base = _trades(tmp_path / "quote"), _trades(tmp_path / "base")
    assert {row["commission_asset"] for row in quote} == {"USD"}
    assert {row["commission_asset"] for row in base} == {"AAPL"}
    first_buy, first_sell = base[0], base[1]
    assert (first_buy["side"], first_sell["side"]) == ("buy", "sell")
    assert D(first_buy["commission"]) == D(quote[0]["commission"]) / D(first_buy["price"])  # the same fee, in AAPL
    assert D(first_sell["quantity"]) < D(first_buy["quantity"]) == D(quote[1]["quantity"])  # the venue kept part
    with pytest.raises(ConfigError, match="fee_asset_price"):  # a third asset needs its price
        _run(spec, "--fee-asset", "BNB", "--out", str(tmp_path / "x"))


def test_prints_a_table_per_portfolio(tmp_path: Path) -> None:
    result = _run(str(EXAMPLES / "ma_crossover_aapl.toml"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    for label in ("Total return", "CAGR", "Sharpe", "Sortino", "Max drawdown", "Win rate", "Profit factor", "Exposure"):
        assert label in result.output


def test_json_and_window(tmp_path: Path) -> None:
    result = _run(
        str(EXAMPLES / "ma_crossover_aapl.toml"),
        "--json",
        "--start",
        "2011-01-01",
        "--end",
        "2011-12-31",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (stats,) = document["portfolios"]
    assert stats["start"].startswith("2011-01-03") and stats["end"].startswith("2011-12-30")
    assert document["run"]["events"] == 252


def test_default_folder_is_fresh(tmp_path: Path, monkeypatch: object) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]
    for _ in range(2):
        assert _run(str(EXAMPLES / "ma_crossover_aapl.toml"), "--quiet").exit_code == 0
    assert sorted(p.name for p in (tmp_path / ".livecore" / "backtests").iterdir()) == ["run-001", "run-002"]


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    cases = [
        ([str(tmp_path)], "no spec files"),
        ([str(EXAMPLES / "ma_crossover_aapl.toml"), "--start", "2030-01-01"], "no data"),
        ([str(EXAMPLES / "ma_crossover_aapl.toml"), "--start", "2012-01-01", "--end", "2011-01-01"], "not after"),
        ([str(EXAMPLES / "ma_crossover_aapl.toml"), "--slippage-bps", "abc"], "--slippage-bps"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, ["backtest", *args, "--out", str(tmp_path / "x")])
        assert isinstance(result.exception, LivecoreError), (args, result.output)
        assert message in str(result.exception), (args, str(result.exception))
