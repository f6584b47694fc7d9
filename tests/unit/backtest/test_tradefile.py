"""The trades file: a backtest's ``trades.csv`` and an export of the journal are read
by one reader; Parquet refuses what it cannot hold exactly; a failed write leaves
nothing behind; ``--since`` parses ISO dates and datetimes to exact nanoseconds."""

from __future__ import annotations

import csv
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livecore.backtest.records import FillRecord
from livecore.backtest.tradefile import TRADE_COLUMNS, TradeFileError, TradeFormat, write_trades
from livecore.cli.app import app
from livecore.errors import ConfigError
from livecore.ops.trades import parse_since

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "portfolios"
DAY = 86_400 * 1_000_000_000


def fill(**overrides: object) -> FillRecord:
    fields: dict[str, object] = {
        "portfolio_id": "p",
        "client_order_id": "p-1-1",
        "fill_id": "p-1-1-f1",
        "symbol": "AAPL",
        "side": "buy",
        "quantity": D("10"),
        "price": D("187.25"),
        "commission": D("0.5"),
        "ts_ns": 19_844 * DAY,
    }
    fields.update(overrides)
    return FillRecord(**fields)  # type: ignore[arg-type]


def read_trades(path: Path) -> list[FillRecord]:
    """What a reader of either file does: the header, then exact decimals."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == TRADE_COLUMNS
        return [
            FillRecord(
                portfolio_id=row["portfolio_id"],
                client_order_id=row["client_order_id"],
                fill_id=row["fill_id"],
                symbol=row["symbol"],
                side=row["side"],
                quantity=D(row["quantity"]),
                price=D(row["price"]),
                commission=D(row["commission"]),
                ts_ns=0,
            )
            for row in reader
        ]


def test_a_backtest_trades_csv_and_an_export_read_alike(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["backtest", str(EXAMPLES / "ma_crossover_aapl.toml"), "--out", str(tmp_path / "bt"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    backtest = read_trades(tmp_path / "bt" / "trades.csv")
    assert backtest and all(f.side in {"buy", "sell"} and f.quantity > 0 for f in backtest)
    exported = [fill(), fill(fill_id="p-1-1-f2", quantity=D("0.000000000001"), commission=D("0"))]
    write_trades(tmp_path / "export.csv", exported, TradeFormat.CSV)
    assert read_trades(tmp_path / "export.csv") == [
        fill(ts_ns=0),
        fill(fill_id="p-1-1-f2", quantity=D("0.000000000001"), commission=D("0"), ts_ns=0),
    ]
    assert "0.000000000001" in (tmp_path / "export.csv").read_text()  # fixed-point, never 1E-12


@pytest.mark.parametrize(
    ("field", "value"),
    [("commission", D("1e26")), ("price", D("1.0000000000001"))],
)
def test_parquet_refuses_a_value_it_cannot_hold_exactly(tmp_path: Path, field: str, value: D) -> None:
    out = tmp_path / "t.parquet"
    out.write_bytes(b"previous export")
    with pytest.raises(TradeFileError, match=f"fill p-1-1-f9: {field} "):
        write_trades(out, [fill(), fill(fill_id="p-1-1-f9", **{field: value})], TradeFormat.PARQUET)
    assert out.read_bytes() == b"previous export"  # untouched, and no partial file beside it
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_the_largest_values_the_wire_allows_fit_parquet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    big = fill(quantity=D("999999999999999.999999999999"), commission=D("99999999999999999999999999.999999999999"))
    write_trades(tmp_path / "t.parquet", [big], TradeFormat.PARQUET)
    row = pq.read_table(tmp_path / "t.parquet").to_pylist()[0]
    assert (row["quantity"], row["price"], row["commission"]) == (big.quantity, big.price, big.commission)


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-05-01", 19_844 * DAY),
        ("2024-05-01T00:00:00Z", 19_844 * DAY),
        ("2024-05-01T00:00:00.000001", 19_844 * DAY + 1_000),
        ("2024-05-01T02:00:00+02:00", 19_844 * DAY),
        ("1970-01-01", 0),
    ],
)
def test_since_is_utc_unless_an_offset_is_given(text: str, ns: int) -> None:
    assert parse_since(text) == ns


def test_since_names_a_bad_value() -> None:
    with pytest.raises(ConfigError, match="'last week' is not an ISO-8601 date"):
        parse_since("last week")
