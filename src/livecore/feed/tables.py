"""Replay files as Arrow tables, in file order.

CSV and gzipped CSV go through ``pyarrow.csv`` with every column read as a
string, so prices reach ``Decimal`` exactly as written (never through a float);
Parquet goes through ``pyarrow.parquet`` with its native types. The header row
is read separately so that column names may repeat or be empty (the alias layer
in ``columns`` picks among them). ``FileTable.where`` names a row for error
messages: ``file line N`` for CSV (counting as ``csv.reader`` does, computed only
when an error needs it), ``file row N`` for Parquet.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.csv as pa_csv

from livecore.feed.columns import ReplayError


@dataclass(frozen=True, slots=True)
class FileTable:
    """One file's header names and cells; column ``i`` of ``table`` is ``headers[i]``."""

    path: Path
    headers: list[str]
    table: pa.Table
    is_csv: bool

    def where(self, index: int) -> str:
        """``path line N`` / ``path row N`` for the table's row ``index``."""
        if self.is_csv:
            return f"{self.path} line {_csv_line(self.path, index)}"
        return f"{self.path} row {index + 1}"


def read_table(path: Path, *, parquet: bool) -> FileTable:
    """The cells of a Parquet or (else) a CSV/CSV.gz file; ``ReplayError`` if it cannot be parsed."""
    if parquet:
        return _parquet_table(path)
    headers = _csv_headers(path)
    table = _csv_table(path, len(headers)) if headers else pa.table({})
    return FileTable(path=path, headers=headers, table=table, is_csv=True)


def _parquet_table(path: Path) -> FileTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise ReplayError(f"{path}: not a readable Parquet file: {exc}") from None
    return FileTable(path=path, headers=list(table.column_names), table=table, is_csv=False)


def _open_text(path: Path) -> TextIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _csv_headers(path: Path) -> list[str]:
    try:
        with _open_text(path) as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as exc:
        raise ReplayError(f"{path}: not a readable CSV file: {exc}") from None


def _csv_table(path: Path, width: int) -> pa.Table:
    """Every data row, every cell a string; blank lines dropped (as ``csv.reader`` yields them empty)."""
    names = [f"c{i}" for i in range(width)]
    try:
        return pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
    except pa.ArrowException as exc:
        for line, cells in _csv_rows(path):
            if len(cells) != width:
                raise ReplayError(f"{path} line {line}: {len(cells)} cells where the header has {width}") from None
        raise ReplayError(f"{path}: not a readable CSV file: {exc}") from None


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of every non-blank data row, numbered as ``csv.reader`` counts rows."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for line, cells in enumerate(reader, start=2):
            if cells:
                yield line, cells


def _csv_line(path: Path, index: int) -> int:
    """The line of the table's row ``index`` (the ``index``-th non-blank data row)."""
    return next((line for i, (line, _) in enumerate(_csv_rows(path)) if i == index), index + 2)
