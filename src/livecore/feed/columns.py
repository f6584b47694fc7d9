"""Column mapping and value parsing for replay files.

Header names are matched case-insensitively, ignoring spaces, ``_`` and ``-``,
against a list of common aliases per field. A file with ``open``, ``high``,
``low`` and ``close`` is bars; one with a ``price`` (or ``last``) column and no
full OHLC set is ticks. Anything missing is reported naming the column and the
file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from livecore.errors import LivecoreError

ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "date", "time", "datetime", "ts", "tsns", "tradedate", "dt"),
    "symbol": ("symbol", "ticker", "sym", "instrument", "code"),
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice"),
    "volume": ("volume", "vol", "v"),
    "price": ("price", "last", "lastprice", "tradeprice"),
    "size": ("size", "qty", "quantity", "lastsize", "tradesize", "volume", "vol"),
    "bid": ("bid", "bidprice"),
    "ask": ("ask", "askprice", "offer"),
}
BAR_FIELDS = ("open", "high", "low", "close")

Kind = Literal["bar", "tick"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ReplayError(LivecoreError):
    """A replay file cannot be read: missing column, bad value, unknown format."""


def normalise(header: str) -> str:
    return "".join(ch for ch in header.strip().lower() if ch not in " _-")


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which source column (by index) feeds which field; ``symbol`` may be absent
    (the file name gives the symbol)."""

    kind: Kind
    columns: dict[str, int]
    source: str

    @property
    def has_symbol(self) -> bool:
        return "symbol" in self.columns


def _find(field: str, index: dict[str, int], exclude: set[int]) -> int | None:
    for alias in ALIASES[field]:
        position = index.get(alias)
        if position is not None and position not in exclude:
            return position
    return None


def _missing(field: str, source: str, headers: Sequence[str]) -> ReplayError:
    names = ", ".join(ALIASES[field])
    found = ", ".join(headers) or "(none)"
    return ReplayError(f"{source}: no '{field}' column (accepted names: {names}); columns found: {found}")


def map_columns(headers: Sequence[str], source: str) -> ColumnMap:
    """Resolve ``headers`` into a ``ColumnMap`` or raise ``ReplayError`` naming what is missing."""
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        index.setdefault(normalise(header), position)
    used: set[int] = set()
    columns: dict[str, int] = {}

    def take(field: str) -> int | None:
        position = _find(field, index, used)
        if position is not None:
            columns[field] = position
            used.add(position)
        return position

    if take("timestamp") is None:
        raise _missing("timestamp", source, headers)
    take("symbol")
    bar_hits = {f: _find(f, index, used) for f in BAR_FIELDS}
    if all(position is not None for position in bar_hits.values()):
        for field in BAR_FIELDS:
            take(field)
        take("volume")
        return ColumnMap("bar", columns, source)
    if _find("price", index, used) is None:
        for field in BAR_FIELDS:
            if bar_hits[field] is None and any(p is not None for p in bar_hits.values()):
                raise _missing(field, source, headers)
        raise ReplayError(
            f"{source}: no price columns: need open, high, low, close (bars) or price/last (ticks); "
            f"columns found: {', '.join(headers) or '(none)'}"
        )
    take("price")
    for field in ("size", "bid", "ask"):
        take(field)
    return ColumnMap("tick", columns, source)


# --- values -------------------------------------------------------------------


class BadValue(ValueError):
    """One cell's problem, without its location (the caller knows the file and line)."""


def decimal_value(value: object, field: str) -> Decimal:
    """Exact decimal from a CSV string, an int, a Decimal or a float (via its shortest repr)."""
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, float):
            if math.isnan(value):
                raise InvalidOperation
            result = Decimal(repr(value))
        else:
            text = str(value).strip()
            result = Decimal(text)
    except (InvalidOperation, ValueError):
        raise BadValue(f"'{field}' value {value!r} is not a number") from None
    if not result.is_finite():
        raise BadValue(f"'{field}' value {value!r} is not a finite number")
    return result


def parse_decimal(value: object, field: str, where: str) -> Decimal:
    """``decimal_value``, its problem raised as a ``ReplayError`` located at ``where``."""
    try:
        return decimal_value(value, field)
    except BadValue as exc:
        raise ReplayError(f"{where}: {exc}") from None


EPOCH_MS_FROM = 10**11  # epoch numbers at least this large are milliseconds ...
EPOCH_US_FROM = 10**14  # ... microseconds ...
EPOCH_NS_FROM = 10**17  # ... nanoseconds


def epoch_number_to_ns(number: float | int) -> int:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    magnitude = abs(number)
    if magnitude < EPOCH_MS_FROM:
        return int(Decimal(str(number)) * 1_000_000_000)
    if magnitude < EPOCH_US_FROM:
        return int(number) * 1_000_000
    if magnitude < EPOCH_NS_FROM:
        return int(number) * 1_000
    return int(number)


def timestamp_ns(value: object) -> int:
    """Nanoseconds since the epoch (UTC) from an ISO date/datetime string, a
    ``datetime``/``date``, or an epoch number (s, ms, us or ns)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000
    if isinstance(value, date):
        return timestamp_ns(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_number_to_ns(value)
    text = str(value).strip()
    if not text:
        raise BadValue("empty timestamp")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return epoch_number_to_ns(int(text) if text.lstrip("-").isdigit() else number)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise BadValue(f"timestamp {text!r} is neither ISO-8601 nor an epoch number") from None
    return timestamp_ns(parsed)


def parse_timestamp(value: object, where: str) -> int:
    """``timestamp_ns``, its problem raised as a ``ReplayError`` located at ``where``."""
    try:
        return timestamp_ns(value)
    except BadValue as exc:
        raise ReplayError(f"{where}: {exc}") from None


def symbol_from_path(path: Path) -> str:
    """``data/AAPL.csv`` -> ``AAPL`` (the whole stem, upper-cased)."""
    return path.stem.split(".")[0].upper()
