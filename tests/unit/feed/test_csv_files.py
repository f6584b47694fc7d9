"""Replay CSV files read through pyarrow: gzip, exact prices, timestamp forms, where a bad row is."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from livecore.feed.columns import ReplayError, parse_timestamp
from livecore.feed.readers import load_replay, read_file
from livecore.wire.messages import Bar, Tick

BARS = "date,open,high,low,close,volume\n2020-01-03,2,2.5,1.5,2.25,7\n2020-01-02,1.00,1.10,0.90,1.05,\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def prices(path: Path) -> list[tuple[int, str, D]]:
    return [(e.ts_ns, e.symbol, e.price) for e in load_replay(path).events]


def test_gzipped_csv_reads_like_the_plain_file(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "zipped").mkdir()
    plain = write(tmp_path / "plain" / "XYZ.csv", BARS)
    zipped = tmp_path / "zipped" / "XYZ.csv.gz"
    zipped.write_bytes(gzip.compress(BARS.encode()))
    assert load_replay(zipped).events == load_replay(plain).events
    assert len(load_replay(zipped).events) == 2


def test_prices_keep_their_digits(tmp_path: Path) -> None:
    path = write(tmp_path / "P.csv", "ts,price,size\n1,1.50,10\n2,123456789.123456789123,0.000001\n3, 7 ,\n")
    events = [e for e in load_replay(path).events if isinstance(e, Tick)]
    assert [str(e.price) for e in events] == ["1.50", "123456789.123456789123", "7"]
    assert [str(e.size) for e in events] == ["10", "0.000001", "0"]


def test_quoted_cells_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", '\ufeff"Date","Symbol","Price"\n"2020-01-02","A B","1,5"\n')
    with pytest.raises(ReplayError, match=r"q\.csv line 2: 'price' value '1,5' is not a number"):
        load_replay(path)
    write(path, '\ufeff"Date","Symbol","Price"\n"2020-01-02"," AB ","1.5"\n')
    assert prices(path) == [(parse_timestamp("2020-01-02", ""), "AB", D("1.5"))]


ODD_TIMESTAMPS = [
    ["2020-01-02T09:30:00Z", "2020-01-02 10:30:00+01:00", "2020-01-02T09:30:00.250-00:00"],  # offsets only
    ["2020-01-02", "2020-01-02T09:30:00+01:00"],  # naive and offset mixed: cell by cell
    ["  2020-01-02T09:30 ", "2020-01-02T09"],  # padded, minutes or hours only
    ["2020-01-02T09:30:00.123456789", "2020-01-02T09:30:00.5"],  # nanoseconds: floored to microseconds
    ["1577923200", "1577923200000", "1577923200000000", "1577923200000000000"],  # s, ms, us, ns
    ["1577923200.5", "1577923201"],  # fractional epoch seconds: cell by cell
    ["20200102", "2020-01-02T0930"],  # basic ISO forms Arrow does not parse: cell by cell
]


@pytest.mark.parametrize("stamps", ODD_TIMESTAMPS, ids=[s[0].strip() for s in ODD_TIMESTAMPS])
def test_a_column_of_timestamps_reads_as_each_cell_would(tmp_path: Path, stamps: list[str]) -> None:
    rows = "".join(f"{stamp},{i + 1}\n" for i, stamp in enumerate(stamps))
    kind, events = read_file(write(tmp_path / "T.csv", "time,price\n" + rows))
    expected = sorted((parse_timestamp(stamp, "here"), D(i + 1)) for i, stamp in enumerate(stamps))
    assert kind == "tick" and [(e.ts_ns, e.price) for e in events] == expected


def test_nanosecond_text_is_floored_like_datetime() -> None:
    assert parse_timestamp("2020-01-02T09:30:00.123456789", "") % 1_000_000_000 == 123_456_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,price\n2020-01-02,1\n\n\n2020-01-03,x\n", r"line 5: 'price' value 'x' is not a number"),
        ("date,price\n2020-01-02,-1\n2020-01-03,x\n", r"line 2: price must be a positive number, got -1"),
        ("date,open,high,low,close\n2020-01-02,1,1,1,x\n2020-01-03,y,1,1,1\n", r"line 2: 'close' value 'x'"),
        ("date,open,high,low,close\n2020-01-02,1,1,1,1\n2020-01-03,1,1,1\n", r"line 3: 4 cells where the header has 5"),
        ("date,open,high,low,close\n2020-01-02,1,1,1,1,9\n", r"line 2: 6 cells where the header has 5"),
        ("date,price\n2020-01-02,1\n,\n 2020-01-03 ,\n", r"line 4: empty 'price'"),
        ("date,price\n2020-01-02,1\n ,2\n", r"line 3: empty 'timestamp'"),
        ("date,price\n2020-01-02,NaN\n", r"line 2: 'price' value 'NaN' is not a finite number"),
    ],
)
def test_a_bad_row_is_named_by_its_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ReplayError, match=r"B\.csv " + message):
        load_replay(write(tmp_path / "B.csv", text))


def test_blank_rows_are_skipped_and_filtered_symbols_are_not_parsed(tmp_path: Path) -> None:
    text = "ts,symbol,price\n1,X,1\n,,\n\n2,Y,oops\nlater,Y,1\n3,X,2\n"
    path = write(tmp_path / "m.csv", text)
    assert [e.price for e in load_replay(path, symbols=["X"]).events] == [D(1), D(2)]
    with pytest.raises(ReplayError, match=r"m\.csv line 5: 'price' value 'oops'"):
        load_replay(path)


def test_undecodable_bytes_are_a_replay_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"date,price\n2020-01-02,\xff\xfe\n")
    with pytest.raises(ReplayError, match=r"bad\.csv: not a readable CSV file"):
        load_replay(path)


def test_parquet_rows_are_named_by_row_number(tmp_path: Path) -> None:
    table = pa.table({"ts": pa.array([1, None], pa.int64()), "price": ["1.25", "2"]})
    pq.write_table(table, tmp_path / "p.parquet")
    with pytest.raises(ReplayError, match=r"p\.parquet row 2: empty 'timestamp'"):
        read_file(tmp_path / "p.parquet")
    dated = pa.table({"date": [datetime(2021, 5, 3, tzinfo=UTC).date()], "o": [1], "h": [2], "l": [1], "c": ["1.5"]})
    pq.write_table(dated, tmp_path / "d.parquet")
    _, events = read_file(tmp_path / "d.parquet")
    assert isinstance(events[0], Bar) and events[0].close == D("1.5")
    assert events[0].ts_ns == int(datetime(2021, 5, 3, tzinfo=UTC).timestamp()) * 10**9
