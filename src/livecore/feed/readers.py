"""Read replay files (CSV, gzipped CSV, Parquet) into market events, in time order.

Pure apart from reading the files: no bus, no clock. Events keep the file's
timestamps; the runner rewrites them to the wall clock when it publishes.
Everything is loaded into memory (a file is sorted by time before merging),
which suits daily and minute bars; a very large tick file wants a pre-sorted
Parquet and more memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from livecore.feed.columns import Kind, ReplayError, map_columns, symbol_from_path
from livecore.wire.messages import Bar, MarketEvent, Tick

if TYPE_CHECKING:
    from livecore.feed.cells import ColumnReader

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


# --- events ---------------------------------------------------------------------


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
    import pyarrow as pa

    from livecore.feed import cells, tables  # pyarrow loads when a file is read, not on import

    source = tables.read_table(path, parquet=_suffix_kind(path) == "parquet")
    cmap = map_columns(source.headers, str(path))
    kept, row_symbols = cells.select_rows(source.table, cmap, symbols, symbol_from_path(path))
    table = source.table if kept is None else source.table.take(pa.array(kept, pa.int64()))

    def where(index: int) -> str:
        return source.where(index if kept is None else kept[index])

    reader = cells.ColumnReader(table, cmap, where)
    build = _bar_builder(reader) if cmap.kind == "bar" else _tick_builder(reader)
    parsed: list[tuple[int, str, MarketEvent]] = []
    for index in range(reader.limit):
        try:
            ts, event = build(index, row_symbols[index])
        except ValueError as exc:
            raise ReplayError(f"{where(index)}: {exc}") from None
        parsed.append((ts, event.symbol, event))
    reader.raise_first_bad()
    parsed.sort(key=lambda item: item[0])
    if cmap.kind == "bar":
        intervals = _infer_intervals(parsed)
        return "bar", [_with_interval(event, intervals.get(symbol, _DEFAULT_INTERVAL_S)) for _, symbol, event in parsed]
    return "tick", [event for _, _, event in parsed]


Builder = Callable[[int, str], tuple[int, MarketEvent]]


def _bar_builder(reader: ColumnReader) -> Builder:
    """Row ``i``'s bar, from columns converted in the order a row is read."""
    ts = reader.timestamps()
    opens, highs, lows, closes = (reader.decimals(field, required=True) for field in ("open", "high", "low", "close"))
    volumes = reader.decimals("volume", required=False)

    def build(i: int, symbol: str) -> tuple[int, MarketEvent]:
        bar = Bar(
            symbol=symbol,
            ts_ns=ts[i],
            open=opens[i],  # type: ignore[arg-type]  # required: never None
            high=highs[i],  # type: ignore[arg-type]
            low=lows[i],  # type: ignore[arg-type]
            close=closes[i],  # type: ignore[arg-type]
            volume=volumes[i] or Decimal(0),
        )
        return ts[i], bar

    return build


def _tick_builder(reader: ColumnReader) -> Builder:
    """Row ``i``'s tick, from columns converted in the order a row is read."""
    ts = reader.timestamps()
    prices = reader.decimals("price", required=True)
    sizes, bids, asks = (reader.decimals(field, required=False) for field in ("size", "bid", "ask"))

    def build(i: int, symbol: str) -> tuple[int, MarketEvent]:
        tick = Tick(
            symbol=symbol,
            ts_ns=ts[i],
            price=prices[i],  # type: ignore[arg-type]  # required: never None
            size=sizes[i] or Decimal(0),
            bid=bids[i],
            ask=asks[i],
        )
        return ts[i], tick

    return build


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
