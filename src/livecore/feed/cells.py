"""Column-wise conversion of a replay table's cells into event fields.

Whole columns are converted at once (timestamps by Arrow when every cell of
the column is in one form Arrow parses, else cell by cell with the rules of
``columns.timestamp_ns``). Each column stops at its first bad cell; the error
reported is that of the earliest row, and within a row that of the field read
first, exactly as reading row by row would report it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc

from livecore.feed.columns import (
    EPOCH_MS_FROM,
    EPOCH_NS_FROM,
    EPOCH_US_FROM,
    BadValue,
    ColumnMap,
    ReplayError,
    decimal_value,
    timestamp_ns,
)

Where = Callable[[int], str]
_INTEGER = r"^-?[0-9]+$"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def select_rows(
    table: pa.Table, cmap: ColumnMap, wanted: frozenset[str] | None, default_symbol: str
) -> tuple[list[int] | None, list[str]]:
    """The rows to read (None: all of them) and their symbols: rows whose cells are
    all blank are skipped, and so are rows of symbols not ``wanted``."""
    position = cmap.columns.get("symbol")
    if position is None:
        symbols = [default_symbol] * table.num_rows
    else:
        symbols = [default_symbol if _blank(s) else str(s).strip() for s in table.column(position).to_pylist()]
    filled = _filled_rows(table)
    if wanted is None and filled is None:
        return None, symbols
    kept = [
        i for i, symbol in enumerate(symbols) if (filled is None or filled[i]) and (wanted is None or symbol in wanted)
    ]
    return kept, [symbols[i] for i in kept]


def _filled_rows(table: pa.Table) -> list[bool] | None:
    """Per row, whether any string cell holds more than spaces; None if every row does
    (or the table has non-string columns, as Parquet does: nothing to skip there)."""
    if table.num_columns == 0 or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    filled = pc.not_equal(pc.utf8_trim_whitespace(table.column(0)), "")
    for column in table.columns[1:]:
        filled = pc.or_(filled, pc.not_equal(pc.utf8_trim_whitespace(column), ""))
    if pc.all(filled).as_py() is not False:
        return None
    flags: list[bool] = filled.to_pylist()
    return flags


class ColumnReader:
    """Converts the mapped columns of one table, remembering the earliest bad cell."""

    def __init__(self, table: pa.Table, cmap: ColumnMap, where: Where) -> None:
        self._table = table
        self._cmap = cmap
        self._where = where
        self._first_bad: tuple[int, ReplayError] | None = None

    @property
    def limit(self) -> int:
        """Rows that may be built: all of them, or those before the earliest bad cell."""
        return self._table.num_rows if self._first_bad is None else self._first_bad[0]

    def raise_first_bad(self) -> None:
        if self._first_bad is not None:
            raise self._first_bad[1]

    def _bad(self, index: int, message: str) -> None:
        if self._first_bad is None or index < self._first_bad[0]:
            self._first_bad = (index, ReplayError(f"{self._where(index)}: {message}"))

    def _column(self, field: str) -> pa.ChunkedArray | None:
        position = self._cmap.columns.get(field)
        return None if position is None else self._table.column(position)

    def timestamps(self) -> Sequence[int]:
        column = self._column("timestamp")
        assert column is not None  # map_columns requires it
        fast = arrow_timestamps(column)
        if fast is not None:
            return fast
        result: list[int] = []
        for index, value in enumerate(column.to_pylist()):
            try:
                if _blank(value):
                    raise BadValue("empty 'timestamp'")
                result.append(timestamp_ns(value))
            except BadValue as exc:
                self._bad(index, str(exc))
                break
        return result

    def decimals(self, field: str, *, required: bool) -> Sequence[Decimal | None]:
        column = self._column(field)
        if column is None:
            return [None] * self._table.num_rows
        result: list[Decimal | None] = []
        for index, value in enumerate(column.to_pylist()):
            if type(value) is str:  # the CSV case: try the plain conversion first
                try:
                    number = Decimal(value)
                except InvalidOperation:
                    number = None
                if number is not None and number.is_finite():
                    result.append(number)
                    continue
            if _blank(value) and not required:
                result.append(None)
                continue
            try:
                if _blank(value):
                    raise BadValue(f"empty '{field}'")
                result.append(decimal_value(value, field))
            except BadValue as exc:
                self._bad(index, str(exc))
                break
        return result


def arrow_timestamps(column: pa.ChunkedArray) -> list[int] | None:
    """Nanoseconds of every cell, converted by Arrow, if the whole column is native
    timestamps/dates, integer epochs, or ISO-8601 text Arrow parses (all with a
    zone offset or all without); None sends the column cell by cell."""
    kind = column.type
    if column.null_count:
        return None
    try:
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            return _nanoseconds(column.cast(pa.timestamp("ns", getattr(kind, "tz", None))))
        if pa.types.is_integer(kind):
            return _epoch_ns(column.cast(pa.int64()))
        if not pa.types.is_string(kind):
            return None
        text = pc.utf8_trim_whitespace(column)
        if pc.all(pc.match_substring_regex(text, _INTEGER)).as_py():
            return _epoch_ns(text.cast(pa.int64()))
        for zone in (None, "UTC"):
            try:
                return _microsecond_floor(text.cast(pa.timestamp("ns", zone)))
            except pa.ArrowInvalid:
                continue
    except pa.ArrowException:
        return None
    return None


def _nanoseconds(stamps: pa.ChunkedArray) -> list[int]:
    values: list[int] = stamps.cast(pa.int64()).to_pylist()
    return values


def _microsecond_floor(stamps: pa.ChunkedArray) -> list[int]:
    """Nanoseconds of parsed text, floored to the microsecond as ``datetime`` (the
    cell-by-cell parser) does, so a column's form does not change its values."""
    nanoseconds = _nanoseconds(stamps)
    try:
        stamps.cast(pa.timestamp("us", stamps.type.tz))  # safe cast: fails if any sub-microsecond digit
    except pa.ArrowInvalid:
        return [ns - ns % 1_000 for ns in nanoseconds]
    return nanoseconds


def _epoch_ns(numbers: pa.ChunkedArray) -> list[int]:
    """``columns.epoch_number_to_ns`` for a column of integers (overflow raises)."""
    magnitude = pc.abs_checked(numbers)
    scale = pc.if_else(
        pc.less(magnitude, EPOCH_MS_FROM),
        1_000_000_000,
        pc.if_else(
            pc.less(magnitude, EPOCH_US_FROM), 1_000_000, pc.if_else(pc.less(magnitude, EPOCH_NS_FROM), 1_000, 1)
        ),
    )
    return _nanoseconds(pc.multiply_checked(numbers, scale.cast(pa.int64())))
