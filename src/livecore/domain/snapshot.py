"""The snapshot schema: everything a portfolio is, as versioned bytes.

``restore(snapshot(p))`` must behave exactly like ``p`` on any later events, so
the state holds the books, every retained order with its state and
reservations, the seq counter, the fill-id window, the undrained outbox, the
strategy's memory and universe, the fault/halt flags and the counters. What is
not here is either derived (symbols, equity) or decided by the host
(``trading_enabled``: a restored portfolio starts enabled).

Encoding is msgspec JSON with sorted keys, so equal states give equal bytes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from livecore.domain.books import Books
from livecore.domain.errors import SnapshotError
from livecore.domain.orders import Order
from livecore.domain.pipeline import RiskNote
from livecore.wire.messages import CancelOrder, NewOrder

SNAPSHOT_SCHEMA = 1


class Counters(msgspec.Struct, kw_only=True):
    """Running totals for operators (never reset by a restore)."""

    events: int = 0
    orders: int = 0
    cancels: int = 0
    fills: int = 0
    duplicates: int = 0
    unknown: int = 0
    refused: int = 0
    ignored: int = 0
    vetoes: int = 0
    shrinks: int = 0
    suppressed: int = 0  # signals dropped: order in flight, trading disabled, halted


class PortfolioState(msgspec.Struct, kw_only=True):
    schema: int = SNAPSHOT_SCHEMA
    portfolio_id: str
    epoch: int
    node_id: str
    seq: int
    booked: list[tuple[int, int]]  # (epoch, highest seq of that epoch in the books), see reconcile
    books: Books
    orders: list[Order]
    closed_order_ids: list[str]
    fill_ids: list[str]
    outbox: list[NewOrder | CancelOrder]
    strategy: str
    strategy_state: Any = None
    universe: list[str]
    universe_version: int
    fault: str | None = None
    fault_detail: str | None = None
    halt_reason: str | None = None
    feedback_problem: str | None = None  # the last refused report, for operators
    last_order_id: str | None = None
    counters: Counters
    risk_notes: list[RiskNote] = []


_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder(PortfolioState)


def encode_state(state: PortfolioState) -> bytes:
    return _encoder.encode(state)


def decode_state(data: bytes) -> PortfolioState:
    """Decode and check the schema version; raise ``SnapshotError`` on anything wrong."""
    try:
        head = msgspec.json.decode(data, type=dict[str, Any])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotError(f"undecodable snapshot: {exc}") from None
    schema = head.get("schema")
    if schema != SNAPSHOT_SCHEMA:
        raise SnapshotError(f"snapshot schema {schema!r} is not supported (this build reads {SNAPSHOT_SCHEMA})")
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotError(f"invalid snapshot: {exc}") from None
