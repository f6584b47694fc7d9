"""Replay readers: column mapping, timestamps, CSV/Parquet, directories, the bundled data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from livecore.feed.bundled import BUNDLED_SYMBOLS, bundled_data_dir
from livecore.feed.columns import ReplayError, map_columns, parse_timestamp
from livecore.feed.readers import load_replay, read_file
from livecore.wire.messages import Bar, Tick

DAY_NS = 86_400 * 10**9


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_headers_match_aliases_case_insensitively() -> None:
    cmap = map_columns(["Date", "Ticker", "OPEN", "High", "low", "Close", "Adj Close", "Volume"], "f.csv")
    assert cmap.kind == "bar"
    assert cmap.columns == {"timestamp": 0, "symbol": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 7}
    ticks = map_columns(["time", "symbol", "Last", "qty", "Bid_Price", "ask"], "t.csv")
    assert ticks.kind == "tick"
    assert ticks.columns == {"timestamp": 0, "symbol": 1, "price": 2, "size": 3, "bid": 4, "ask": 5}


@pytest.mark.parametrize(
    ("headers", "column"),
    [
        (["date", "open", "high", "low", "volume"], "'close'"),
        (["date", "open", "high", "close"], "'low'"),
        (["open", "high", "low", "close"], "'timestamp'"),
    ],
)
def test_missing_column_error_names_the_column_and_the_file(headers: list[str], column: str) -> None:
    with pytest.raises(ReplayError, match=column) as info:
        map_columns(headers, "/data/prices.csv")
    assert "/data/prices.csv" in str(info.value)


def test_no_price_column_at_all() -> None:
    with pytest.raises(ReplayError, match=r"no price columns.*columns found: date, symbol"):
        map_columns(["date", "symbol"], "x.csv")


def test_missing_column_in_a_real_file_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "AAA.csv", "date,open,high,low,vol\n2020-01-02,1,2,1,5\n")
    with pytest.raises(ReplayError, match=r"AAA\.csv: no 'close' column"):
        load_replay(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-01-02", datetime(2020, 1, 2, tzinfo=UTC)),
        ("2020-01-02T09:30:00Z", datetime(2020, 1, 2, 9, 30, tzinfo=UTC)),
        ("2020-01-02 09:30:00.250+01:00", datetime(2020, 1, 2, 8, 30, 0, 250_000, tzinfo=UTC)),
        ("1577923200", datetime(2020, 1, 2, tzinfo=UTC)),
        ("1577923200000", datetime(2020, 1, 2, tzinfo=UTC)),
        (1577923200000000, datetime(2020, 1, 2, tzinfo=UTC)),
        (1577923200000000000, datetime(2020, 1, 2, tzinfo=UTC)),
        (1577923200.5, datetime(2020, 1, 2, 0, 0, 0, 500_000, tzinfo=UTC)),
    ],
)
def test_timestamps(value: object, expected: datetime) -> None:
    assert parse_timestamp(value, "here") == int(expected.timestamp() * 1_000_000) * 1_000


def test_bad_timestamp_and_bad_number_name_the_line(tmp_path: Path) -> None:
    bad_ts = write(tmp_path / "A.csv", "date,price\n2020-01-02,1\nyesterday,2\n")
    with pytest.raises(ReplayError, match=r"A\.csv line 3: timestamp 'yesterday'"):
        load_replay(bad_ts)
    bad_px = write(tmp_path / "B.csv", "date,price\n2020-01-02,abc\n")
    with pytest.raises(ReplayError, match=r"B\.csv line 2: 'price' value 'abc' is not a number"):
        load_replay(bad_px)
    negative = write(tmp_path / "C.csv", "date,price\n2020-01-02,-1\n")
    with pytest.raises(ReplayError, match=r"C\.csv line 2: price must be a positive"):
        load_replay(negative)


def test_directory_merges_files_in_time_order_with_symbols_from_file_names(tmp_path: Path) -> None:
    write(tmp_path / "bbb.csv", "Date,Open,High,Low,Close\n2020-01-03,3,3,3,3\n2020-01-01,1,1,1,1\n")
    write(tmp_path / "AAA.csv", "Date,Open,High,Low,Close,Volume\n2020-01-02,2,2,2,2,10\n2020-01-06,6,6,6,6,\n")
    write(tmp_path / "notes.md", "ignored")
    data = load_replay(tmp_path)
    assert [(e.symbol, e.close) for e in data.events if isinstance(e, Bar)] == [
        ("BBB", D(1)),
        ("AAA", D(2)),
        ("BBB", D(3)),
        ("AAA", D(6)),
    ]
    assert data.symbols == ["AAA", "BBB"] and data.kinds == {"bar"}
    assert [e.interval_s for e in data.events if isinstance(e, Bar)] == [172_800, 345_600, 172_800, 345_600]
    assert data.events[1].volume == D(10) and data.events[3].volume == D(0)  # type: ignore[union-attr]


def test_symbol_filter_and_unknown_symbol(tmp_path: Path) -> None:
    write(tmp_path / "mixed.csv", "ts,symbol,price,size\n1,X,1.5,10\n2,Y,2.5,\n3,X,1.6,1\n")
    data = load_replay(tmp_path / "mixed.csv", symbols=["X"])
    assert [(e.symbol, e.price) for e in data.events] == [("X", D("1.5")), ("X", D("1.6"))]
    assert all(isinstance(e, Tick) for e in data.events)
    with pytest.raises(ReplayError, match="no rows for symbol"):
        load_replay(tmp_path / "mixed.csv", symbols=["Z"])


def test_parquet_with_native_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "Timestamp": pa.array(
                [datetime(2021, 5, 1, 10, tzinfo=UTC), datetime(2021, 5, 1, 9, tzinfo=UTC)],
                type=pa.timestamp("ns", tz="UTC"),
            ),
            "Ticker": ["ZZZ", "ZZZ"],
            "Price": [10.1, 10.05],
            "Size": [100, 200],
        }
    )
    pq.write_table(table, tmp_path / "ticks.parquet")
    kind, events = read_file(tmp_path / "ticks.parquet")
    assert kind == "tick"
    assert [(e.price, e.size) for e in events if isinstance(e, Tick)] == [(D("10.05"), D(200)), (D("10.1"), D(100))]
    assert events[0].ts_ns == int(datetime(2021, 5, 1, 9, tzinfo=UTC).timestamp()) * 10**9


def test_unknown_paths(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no such file"):
        load_replay(tmp_path / "nope.csv")
    with pytest.raises(ReplayError, match="unknown format"):
        load_replay(write(tmp_path / "x.json", "{}"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReplayError, match=r"holds no \.csv"):
        load_replay(tmp_path / "empty")


def test_bundled_dataset_is_real_daily_bars() -> None:
    data = load_replay(bundled_data_dir())
    assert data.symbols == sorted(BUNDLED_SYMBOLS)
    assert len(data.events) == 4 * 757
    assert {e.interval_s for e in data.events if isinstance(e, Bar)} == {86_400}
    assert data.typical_step_ns() == DAY_NS
    first = data.events[0]
    assert isinstance(first, Bar) and first.symbol == "AAPL" and first.close == D("208.99")
    assert (bundled_data_dir() / "README.md").is_file()
