"""Rejections the gateway builds itself (not the venue's reports).

Every one passes the wire's decoders: fields copied from a record that did not
decode are kept only when they pass the wire's bounds (``wire.bounds``), so a
hostile value (an epoch of 2**63, an id with control characters) can never
make the journal or a node refuse the answer.
"""

from __future__ import annotations

from typing import Any

import msgspec

from livecore.ports.bus import Record
from livecore.wire.bounds import MAX_ORDER_ID_LENGTH, Count, Name, OptionalName, OrderId
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback


def rejection(order: NewOrder, reason: str, now: int) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.REJECTED,
        client_order_id=order.client_order_id,
        portfolio_id=order.portfolio_id,
        epoch=order.epoch,
        symbol=order.symbol,
        side=order.side,
        reason=reason,
        ts_ns=now,
    )


def malformed_rejection(record: Record, reason: str, now: int) -> OrderFeedback | None:
    """The rejection of a malformed order record, built only from raw fields that
    pass the wire's bounds (the decoders of every peer accept it); None when
    its portfolio id cannot be read."""
    fields = _raw_fields(record.value)
    portfolio_id = _bounded(fields.get("portfolio_id"), Name)
    if portfolio_id is None:
        return None
    fallback = f"malformed-{record.topic}-{record.partition}-{record.offset}"[:MAX_ORDER_ID_LENGTH]
    return OrderFeedback(
        status=FeedbackStatus.REJECTED,
        client_order_id=_bounded(fields.get("client_order_id"), OrderId) or fallback,
        portfolio_id=portfolio_id,
        epoch=_bounded(fields.get("epoch"), Count) or 0,
        symbol=_bounded(fields.get("symbol"), OptionalName) or "",
        reason=f"malformed: {reason}"[:500],
        ts_ns=now,
    )


def _bounded(value: object, kind: Any) -> Any:
    """``value`` if it is a valid ``kind`` (a ``wire.bounds`` type) and, for text,
    printable, else None."""
    if isinstance(value, bool):
        return None
    try:
        bounded = msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError:
        return None
    if isinstance(bounded, str) and not bounded.isprintable():
        return None  # names and ids must be printable (checked by the messages themselves)
    return bounded


def _raw_fields(payload: bytes) -> dict[str, object]:
    try:
        value = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
