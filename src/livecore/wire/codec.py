"""One codec: encode once, decode once, strict.

A payload that is not valid JSON, misses a field, has a wrong type, breaks a
struct's own checks, holds a value outside the wire's bounds (``wire.bounds``),
nests too deeply or carries an unknown schema version raises
``MalformedMessage`` with the reason; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

from livecore.wire.messages import (
    SCHEMA_VERSION,
    CommandAck,
    DeadLetter,
    MarketEvent,
    OrderFeedback,
    OrderRequest,
    ScheduleCommand,
)

T = TypeVar("T")

# what msgspec's decode raises for a payload it refuses (``Decoder.refused`` words each)
REFUSALS: tuple[type[BaseException], ...] = (
    msgspec.ValidationError,
    msgspec.DecodeError,
    UnicodeDecodeError,
    RecursionError,
    ArithmeticError,
)

_encoder = msgspec.json.Encoder(decimal_format="string")


class MalformedMessage(ValueError):
    """A payload that cannot be decoded into the expected message type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(message: msgspec.Struct) -> bytes:
    """Encode any wire struct to JSON bytes."""
    return _encoder.encode(message)


def encode_canonical(message: msgspec.Struct) -> bytes:
    """Deterministic encoding (sorted keys): what signatures are computed over."""
    return msgspec.json.encode(message, order="sorted")


class Decoder(Generic[T]):
    """Strict decoder for one message type (or tagged union)."""

    def __init__(self, kind: Any, name: str) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(kind)
        self._list: msgspec.json.Decoder[list[T]] = msgspec.json.Decoder(list.__class_getitem__(kind))
        self.name = name

    @property
    def unwrapped(self) -> Callable[[bytes], T]:
        """msgspec's own ``decode``, for a loop that decodes every record of a batch: no
        call of this wrapper per record. The caller keeps the same rules: it catches
        ``REFUSALS`` and passes them to ``refused`` (a ``MalformedMessage``), and
        passes a message whose ``v`` is not ``SCHEMA_VERSION`` to ``checked``."""
        return self._decoder.decode

    def batch(self, payloads: list[bytes]) -> list[T] | None:
        """Every payload decoded by one msgspec call (the payloads joined as a JSON
        array), or None when any is refused or the array does not hold exactly one
        message per payload (a payload written as ``a},{b`` would hold two): the caller
        then decodes them one by one, which names each refusal. Schema versions are
        not checked here (``checked``)."""
        try:
            messages = self._list.decode(b"[" + b",".join(payloads) + b"]")
        except REFUSALS:
            return None
        return messages if len(messages) == len(payloads) else None

    def decode(self, payload: bytes) -> T:
        try:
            message = self._decoder.decode(payload)
        except REFUSALS as exc:
            raise self.refused(exc) from None
        return self.checked(message)

    def refused(self, exc: BaseException) -> MalformedMessage:
        """The refusal for an exception msgspec's decode raised (one of ``REFUSALS``)."""
        if isinstance(exc, msgspec.ValidationError):
            return MalformedMessage(f"invalid {self.name}: {exc}")
        if isinstance(exc, RecursionError):
            return MalformedMessage(f"undecodable {self.name}: nested too deeply")
        if isinstance(exc, ArithmeticError):  # a decimal rule the structs' checks missed
            return MalformedMessage(f"invalid {self.name}: {type(exc).__name__}: {exc}")
        return MalformedMessage(f"undecodable {self.name}: {exc}")

    def checked(self, message: T) -> T:
        """``message``, unless its schema version is one this build cannot read."""
        version = getattr(message, "v", SCHEMA_VERSION)
        if version > SCHEMA_VERSION or version < 1:
            raise MalformedMessage(
                f"unsupported {self.name} schema version {version} (this build reads <= {SCHEMA_VERSION})"
            )
        return message


market_events: Decoder[MarketEvent] = Decoder(MarketEvent, "market event")
order_requests: Decoder[OrderRequest] = Decoder(OrderRequest, "order request")
order_feedback: Decoder[OrderFeedback] = Decoder(OrderFeedback, "order feedback")
schedule_commands: Decoder[ScheduleCommand] = Decoder(ScheduleCommand, "schedule command")
command_acks: Decoder[CommandAck] = Decoder(CommandAck, "command ack")
dead_letters: Decoder[DeadLetter] = Decoder(DeadLetter, "dead letter")
