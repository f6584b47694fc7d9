"""The gateway journal's fills as trades-file records (``backtest/tradefile.py``),
for ``livecore trades export`` and ``livecore gateway journal --csv``.

The journal is the source of truth for what traded, so the export reads only
the database. Fills come in journal order (the global feedback sequence, i.e.
commit order), once per fill id, as ``JournalBooks`` counts them; a fill that
does not carry its side or symbol takes them from its journaled order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from livecore.backtest.records import FillRecord, fill_record
from livecore.domain.spec import parse_spec
from livecore.errors import ConfigError, LivecoreError
from livecore.gateway.journal_books import side_and_symbol
from livecore.ports.store import Journal, JournalFeedback, Registry
from livecore.wire.messages import FILL_STATUSES, NewOrder, OrderFeedback

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000


def parse_since(text: str) -> int:
    """An ISO-8601 date or datetime as integer ns since the epoch; UTC unless it names an offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"since {text!r} is not an ISO-8601 date or datetime (2024-05-01, 2024-05-01T13:30:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1_000


def _fill_entries(journal: Journal, portfolios: Sequence[str]) -> list[JournalFeedback]:
    if not portfolios:
        entries = journal.feedback()
    else:
        entries = [e for pid in dict.fromkeys(portfolios) for e in journal.feedback(pid)]
        entries.sort(key=lambda e: e.seq)
    return [e for e in entries if e.feedback.status in FILL_STATUSES]


def _orders_of(journal: Journal, fills: Sequence[OrderFeedback]) -> dict[str, NewOrder]:
    """The journaled orders of the fills that lack their side or symbol (none from this gateway)."""
    orders: dict[str, NewOrder] = {}
    for fb in fills:
        if (fb.side is None or not fb.symbol) and fb.client_order_id not in orders:
            journaled = journal.get_order(fb.client_order_id)
            if journaled is not None:
                orders[fb.client_order_id] = journaled.order
    return orders


def journal_fills(
    journal: Journal,
    *,
    portfolios: Sequence[str] = (),
    since_ns: int | None = None,
    currencies: Mapping[str, str] | None = None,
) -> list[FillRecord]:
    """Every journaled fill (of ``portfolios``, if any are named; at or after ``since_ns``, if given).
    ``currencies`` (portfolio id -> its currency) names the quote of a plain symbol's commission."""
    currencies = currencies or {}
    fills = [e.feedback for e in _fill_entries(journal, portfolios)]
    if since_ns is not None:
        fills = [fb for fb in fills if fb.ts_ns >= since_ns]
    orders = _orders_of(journal, fills)
    records: list[FillRecord] = []
    seen: set[str] = set()
    for fb in fills:
        if fb.fill_id is None or fb.fill_qty is None or fb.fill_price is None or fb.fill_id in seen:
            continue  # a fill report always has all three (the wire checks it); a repeated id counts once
        seen.add(fb.fill_id)
        try:
            side, symbol = side_and_symbol(fb, orders)
        except ValueError as exc:
            raise LivecoreError(f"cannot export the journal: {exc}") from None
        records.append(fill_record(fb, symbol, side.value, currencies.get(fb.portfolio_id, "")))
    return records


def registered_currencies(registry: Registry) -> dict[str, str]:
    """Each registered portfolio's currency (a spec that no longer parses names none)."""
    out: dict[str, str] = {}
    for entry in registry.list():
        try:
            out[entry.portfolio_id] = parse_spec(entry.spec_toml, source=entry.portfolio_id).currency
        except Exception:
            continue
    return out
