"""One codec: encode once, decode once, strict.

A payload that is not valid JSON, misses a field, has a wrong type, breaks a
struct's own checks, holds a value outside the wire's bounds (``wire.bounds``),
nests too deeply or carries an unknown schema version raises
``MalformedMessage`` with the reason; nothing else escapes.
"""

from __future__ import annotations

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
        self.name = name

    def decode(self, payload: bytes) -> T:
        try:
            message = self._decoder.decode(payload)
        except msgspec.ValidationError as exc:
            raise MalformedMessage(f"invalid {self.name}: {exc}") from None
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise MalformedMessage(f"undecodable {self.name}: {exc}") from None
        except RecursionError:
            raise MalformedMessage(f"undecodable {self.name}: nested too deeply") from None
        except ArithmeticError as exc:  # a decimal rule the structs' checks missed
            raise MalformedMessage(f"invalid {self.name}: {type(exc).__name__}: {exc}") from None
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
