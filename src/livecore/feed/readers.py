"""Read replay files (CSV, gzipped CSV, Parquet) into market events, in time order.

Pure apart from reading the files: no bus, no clock. Events keep the file's
timestamps; the runner rewrites them to the wall clock when it publishes.
Everything is loaded into memory (a file is sorted by time before merging),
which suits daily and minute bars; a very large tick file wants a pre-sorted
Parquet and more memory.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import msgspec

from livecore.feed.columns import (
    ColumnMap,
    Kind,
    ReplayError,
    map_columns,
    parse_decimal,
    parse_timestamp,
    symbol_from_path,
)
from livecore.wire.messages import Bar, MarketEvent, Tick

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
_DEFAULT_INTERVAL_S = 86_400


@dataclass(frozen=True, slots=True)
class ReplayData:
    """Every event of a replay, sorted by timestamp (ties keep file order)."""

    events: list[MarketEvent]
    files: list[Path]
    symbols: list[str]
    kinds: frozenset[Kind]

    @property
    def span_ns(self) -> int:
        return self.events[-1].ts_ns - self.events[0].ts_ns if self.events else 0

    def typical_step_ns(self) -> int:
        """Smallest positive gap between consecutive timestamps (1 s if none): the
        pause inserted between two passes of a looping replay."""
        gaps = (b.ts_ns - a.ts_ns for a, b in zip(self.events, self.events[1:], strict=False))
        return min((g for g in gaps if g > 0), default=1_000_000_000)


def _suffix_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def discover(path: Path) -> list[Path]:
    """The files a replay PATH names: the file itself, or every CSV/Parquet file of a directory."""
    if not path.exists():
        raise ReplayError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and _suffix_kind(p) is not None)
        if not files:
            raise ReplayError(f"{path}: directory holds no .csv or .parquet file")
        return files
    if _suffix_kind(path) is None:
        raise ReplayError(f"{path}: unknown format (expected .csv, .csv.gz or .parquet)")
    return [path]


# --- raw rows -------------------------------------------------------------------


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, Sequence[object]]]]:
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    headers = next(reader, [])

    def rows() -> Iterator[tuple[int, Sequence[object]]]:
        for line, row in enumerate(reader, start=2):
            if row and any(cell.strip() for cell in row):
                yield line, row

    return headers, rows()


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, Sequence[object]]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise ReplayError(f"{path}: not a readable Parquet file: {exc}") from None
    headers = list(table.column_names)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]

    def rows() -> Iterator[tuple[int, Sequence[object]]]:
        for index, row in enumerate(zip(*columns, strict=True)):
            yield index + 1, row

    return headers, rows()


# --- events ---------------------------------------------------------------------


def _cell(row: Sequence[object], cmap: ColumnMap, field: str) -> object | None:
    position = cmap.columns.get(field)
    if position is None or position >= len(row):
        return None
    value = row[position]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _required(row: Sequence[object], cmap: ColumnMap, field: str, where: str) -> object:
    value = _cell(row, cmap, field)
    if value is None:
        raise ReplayError(f"{where}: empty '{field}'")
    return value


def _decimal(row: Sequence[object], cmap: ColumnMap, field: str, where: str) -> Decimal:
    return parse_decimal(_required(row, cmap, field, where), field, where)


def _optional_decimal(row: Sequence[object], cmap: ColumnMap, field: str, where: str) -> Decimal | None:
    value = _cell(row, cmap, field)
    return None if value is None else parse_decimal(value, field, where)


def _infer_intervals(rows: list[tuple[int, str, MarketEvent]]) -> dict[str, int]:
    """Per symbol, the smallest positive gap between its bars, in seconds."""
    last: dict[str, int] = {}
    best: dict[str, int] = {}
    for ts, symbol, _ in rows:
        previous = last.get(symbol)
        if previous is not None and ts > previous:
            gap = (ts - previous) // 1_000_000_000
            if gap > 0 and gap < best.get(symbol, 1 << 62):
                best[symbol] = gap
        last[symbol] = ts
    return best


def read_file(path: Path, symbols: frozenset[str] | None = None) -> tuple[Kind, list[MarketEvent]]:
    """Events of one file sorted by timestamp, optionally only for ``symbols``."""
    headers, rows = _parquet_rows(path) if _suffix_kind(path) == "parquet" else _csv_rows(path)
    cmap = map_columns(headers, str(path))
    default_symbol = symbol_from_path(path)
    parsed: list[tuple[int, str, MarketEvent]] = []
    for line, row in rows:
        where = f"{path} line {line}" if _suffix_kind(path) == "csv" else f"{path} row {line}"
        raw_symbol = _cell(row, cmap, "symbol")
        symbol = str(raw_symbol).strip() if raw_symbol is not None else default_symbol
        if symbols is not None and symbol not in symbols:
            continue
        ts = parse_timestamp(_required(row, cmap, "timestamp", where), where)
        try:
            event: MarketEvent
            if cmap.kind == "bar":
                event = Bar(
                    symbol=symbol,
                    ts_ns=ts,
                    open=_decimal(row, cmap, "open", where),
                    high=_decimal(row, cmap, "high", where),
                    low=_decimal(row, cmap, "low", where),
                    close=_decimal(row, cmap, "close", where),
                    volume=_optional_decimal(row, cmap, "volume", where) or Decimal(0),
                )
            else:
                event = Tick(
                    symbol=symbol,
                    ts_ns=ts,
                    price=_decimal(row, cmap, "price", where),
                    size=_optional_decimal(row, cmap, "size", where) or Decimal(0),
                    bid=_optional_decimal(row, cmap, "bid", where),
                    ask=_optional_decimal(row, cmap, "ask", where),
                )
        except ValueError as exc:
            if isinstance(exc, ReplayError):
                raise
            raise ReplayError(f"{where}: {exc}") from None
        parsed.append((ts, symbol, event))
    parsed.sort(key=lambda item: item[0])
    if cmap.kind == "bar":
        intervals = _infer_intervals(parsed)
        return "bar", [_with_interval(event, intervals.get(symbol, _DEFAULT_INTERVAL_S)) for _, symbol, event in parsed]
    return "tick", [event for _, _, event in parsed]


def _with_interval(event: MarketEvent, interval_s: int) -> MarketEvent:
    if isinstance(event, Bar) and event.interval_s != interval_s:
        return msgspec.structs.replace(event, interval_s=interval_s)
    return event


def load_replay(path: Path, symbols: Iterable[str] | None = None) -> ReplayData:
    """Every event under ``path`` (file or directory), merged in timestamp order."""
    wanted = frozenset(s.strip() for s in symbols if s.strip()) if symbols is not None else None
    files = discover(path)
    events: list[MarketEvent] = []
    kinds: set[Kind] = set()
    for file in files:
        kind, file_events = read_file(file, wanted)
        kinds.add(kind)
        events.extend(file_events)
    events.sort(key=lambda event: event.ts_ns)  # stable: ties keep file order
    present = sorted({event.symbol for event in events})
    if wanted is not None:
        absent = sorted(wanted - set(present))
        if absent:
            raise ReplayError(f"{path}: no rows for symbol(s) {', '.join(absent)}")
    if not events:
        raise ReplayError(f"{path}: no rows to replay")
    return ReplayData(events=events, files=files, symbols=present, kinds=frozenset(kinds))
