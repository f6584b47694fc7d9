"""`livecore trades export` and `livecore gateway journal --csv` on a SQLite file
and on a fresh PostgreSQL database: one journal with fills of two portfolios,
filtered by portfolio and time, read back exactly from CSV and Parquet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.servers import postgres_database
from typer.testing import CliRunner

from livecore.adapters.sql_store import SqlStore
from livecore.backtest.tradefile import TRADE_COLUMNS
from livecore.cli.app import app
from livecore.errors import ConfigError
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side

runner = CliRunner()
T0 = 1_714_555_800_123_456_789  # 2024-05-01T09:30:00.123456789Z
SECOND = 1_000_000_000

# (portfolio, order, fill id, symbol, side, quantity, price, commission, commission asset, ts) as the CSV
# must spell them: alpha is registered in EUR, so a fee in the quote names EUR; beta paid in a third asset
A1 = (
    "alpha",
    "alpha-1-1",
    "alpha-1-1-f1",
    "AAPL",
    "buy",
    "40",
    "187.123456789012",
    "0.0035",
    "EUR",
    "2024-05-01T09:30:00.123456789Z",
)
B1 = ("beta", "beta-1-1", "beta-1-1-f1", "IBM", "buy", "7", "120", "1", "BNB", "2024-05-01T23:59:59.999999999Z")
A2 = (
    "alpha", "alpha-1-1", "alpha-1-1-f2", "AAPL", "buy", "60.5", "187.2", "-0.25", "EUR",
    "2024-05-01T09:30:01.123456789Z",
)  # fmt: skip  # a rebate
A3 = (
    "alpha",
    "alpha-1-2",
    "alpha-1-2-f1",
    "MSFT",
    "sell",
    "0.000000000001",
    "999999999999999.999999999999",
    "12345678901234567890.123456789012",
    "MSFT",
    "2024-05-02T00:00:00Z",
)
ALPHA_SPEC = """id = "alpha"
currency = "EUR"
initial_cash = 1000
symbols = ["AAPL", "MSFT"]

[strategy]
class = "buy_and_hold"
"""
ALL = [A1, B1, A2, A3]  # journal (commit) order


def _order(cid: str, pid: str, symbol: str, side: Side, qty: str) -> NewOrder:
    return NewOrder(
        client_order_id=cid,
        portfolio_id=pid,
        epoch=1,
        node_id="n1",
        symbol=symbol,
        side=side,
        quantity=D(qty),
        created_ns=T0,
    )


def _report(order: NewOrder, status: FeedbackStatus, **fields: object) -> OrderFeedback:
    base: dict[str, object] = {"symbol": order.symbol, "side": order.side}
    base.update(fields)
    return OrderFeedback(
        status=status,
        client_order_id=order.client_order_id,
        portfolio_id=order.portfolio_id,
        epoch=1,
        **base,  # type: ignore[arg-type]
    )


def _fill(order: NewOrder, row: tuple[str, ...], ts_ns: int, final: bool, **fields: object) -> OrderFeedback:
    status = FeedbackStatus.FILLED if final else FeedbackStatus.PARTIALLY_FILLED
    return _report(
        order,
        status,
        fill_id=row[2],
        fill_qty=D(row[5]),
        fill_price=D(row[6]),
        commission=D(row[7]),
        commission_asset="" if row[8] == "EUR" else row[8],  # alpha's quote: empty on the wire
        ts_ns=ts_ns,
        **fields,
    )


def _write_journal(store: SqlStore) -> None:
    store.registry.upsert("alpha", ALPHA_SPEC, "running", now_ns=1)
    journal = store.journal
    a1 = _order("alpha-1-1", "alpha", "AAPL", Side.BUY, "100.5")
    a2 = _order("alpha-1-2", "alpha", "MSFT", Side.SELL, "0.000000000001")
    a3 = _order("alpha-1-3", "alpha", "GOOG", Side.BUY, "1")
    b1 = _order("beta-1-1", "beta", "IBM", Side.BUY, "7")
    b2 = _order("beta-1-2", "beta", "IBM", Side.SELL, "7")
    for order in (a1, a2, a3, b1, b2):
        assert journal.record_order(order, T0)
        journal.record_feedback(_report(order, FeedbackStatus.ACCEPTED, ts_ns=T0))
    journal.record_feedback(_fill(a1, A1, T0, final=False))
    journal.record_feedback(_fill(a1, A1, T0, final=False))  # a resent fill: journaled once, exported once
    journal.record_feedback(
        _fill(b1, B1, T0 + 14 * 3600 * SECOND + 29 * 60 * SECOND + 59 * SECOND + 876_543_210, final=True)
    )
    journal.record_feedback(_fill(a1, A2, T0 + SECOND, final=True))
    journal.record_feedback(_report(a3, FeedbackStatus.REJECTED, reason="risk", ts_ns=T0))
    journal.record_feedback(_report(b2, FeedbackStatus.CANCELLED, ts_ns=T0))
    # a fill report that names neither side nor symbol takes them from its journaled order
    journal.record_feedback(_fill(a2, A3, 1_714_608_000 * SECOND, final=True, symbol="", side=None))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own (the export with no --portfolio reads every portfolio), journal written once."""
    if request.param == "sqlite":
        yield from _with_journal(f"sqlite:///{tmp_path_factory.mktemp('trades') / 'livecore.db'}")
        return
    with postgres_database() as url:
        yield from _with_journal(url)


def _with_journal(url: str) -> Iterator[str]:
    store = SqlStore(url)
    try:
        _write_journal(store)
    finally:
        store.close()
    yield url


def _invoke(db: str, *args: str) -> str:
    result = runner.invoke(app, ["--db", db, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _csv_rows(text: str) -> list[tuple[str, ...]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == TRADE_COLUMNS
    return [tuple(row) for row in rows[1:]]


def _parquet_rows(path: Path) -> list[tuple[object, ...]]:
    table = pq.read_table(path)
    assert table.column_names == list(TRADE_COLUMNS)
    decimal = pa.decimal128(38, 12)
    assert [table.schema.field(n).type for n in ("quantity", "price", "commission")] == [decimal] * 3
    assert table.schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    columns = {name: table.column(name).to_pylist() for name in TRADE_COLUMNS if name != "ts"}
    columns["ts"] = table.column("ts").cast(pa.int64()).to_pylist()
    return [tuple(columns[name][i] for name in TRADE_COLUMNS) for i in range(table.num_rows)]


def _typed(row: tuple[str, ...], ts_ns: int) -> tuple[object, ...]:
    return (*row[:5], D(row[5]), D(row[6]), D(row[7]), row[8], ts_ns)


TS = {A1: T0, B1: 1_714_607_999_999_999_999, A2: T0 + SECOND, A3: 1_714_608_000 * SECOND}


def test_csv_on_stdout_holds_every_fill_once_in_journal_order_with_exact_text(db: str) -> None:
    assert _csv_rows(_invoke(db, "trades", "export")) == ALL


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--portfolio", "alpha"], [A1, A2, A3]),
        (["--portfolio", "beta"], [B1]),
        (["--portfolio", "beta", "--portfolio", "alpha"], ALL),
        (["--portfolio", "nobody"], []),
        (["--since", "2024-05-02"], [A3]),
        (["--since", "2024-05-01T09:30:01Z"], [B1, A2, A3]),
        (["--since", "2024-05-02T01:00:00+01:00"], [A3]),  # an offset: midnight UTC, inclusive
        (["--since", "2024-05-01T12:00", "--portfolio", "alpha"], [A3]),  # naive: UTC
    ],
)
def test_filters(db: str, args: list[str], expected: list[tuple[str, ...]]) -> None:
    assert _csv_rows(_invoke(db, "trades", "export", *args)) == expected


def test_parquet_reads_back_exactly(db: str, tmp_path: Path) -> None:
    out = tmp_path / "trades.parquet"
    _invoke(db, "trades", "export", "--format", "parquet", "--out", str(out))
    assert _parquet_rows(out) == [_typed(row, TS[row]) for row in ALL]
    _invoke(db, "trades", "export", "--format", "parquet", "--out", str(out), "--portfolio", "beta")
    assert _parquet_rows(out) == [_typed(B1, TS[B1])]
    assert not list(tmp_path.glob(".*partial"))


def test_csv_file_equals_stdout_and_the_gateway_journal_csv(db: str, tmp_path: Path) -> None:
    out = tmp_path / "trades.csv"
    _invoke(db, "trades", "export", "--out", str(out))
    stdout = _invoke(db, "trades", "export")
    assert out.read_text(encoding="utf-8") == stdout
    assert _invoke(db, "gateway", "journal", "--csv") == stdout
    assert _csv_rows(_invoke(db, "gateway", "journal", "--csv", "--portfolio", "beta")) == [B1]


def test_bad_requests_are_one_line_errors(db: str, tmp_path: Path) -> None:
    for args in (
        ["trades", "export", "--format", "parquet"],
        ["trades", "export", "--since", "yesterday"],
        ["gateway", "journal", "--csv", "--json"],
    ):
        result = runner.invoke(app, ["--db", db, *args])
        assert isinstance(result.exception, ConfigError), (args, result.output)
