"""The codec round-trips every message exactly and refuses anything else with a reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.wire import codec
from livecore.wire import messages as m
from tests.unit.wire import strategies as ws

CASES: list[tuple[Any, codec.Decoder[Any]]] = [
    (ws.ticks, codec.market_events),
    (ws.bars(), codec.market_events),
    (ws.new_orders(), codec.order_requests),
    (ws.cancel_orders, codec.order_requests),
    (ws.feedback(), codec.order_feedback),
    (ws.commands, codec.schedule_commands),
]


@pytest.mark.parametrize(("strategy", "decoder"), CASES, ids=lambda c: getattr(c, "name", ""))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip_is_exact(strategy: Any, decoder: codec.Decoder[Any], data: st.DataObject) -> None:
    message = data.draw(strategy)
    decoded = decoder.decode(codec.encode(message))
    assert decoded == message
    assert type(decoded) is type(message)


@pytest.mark.parametrize(("strategy", "decoder"), CASES, ids=lambda c: getattr(c, "name", ""))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_truncated_payload_is_refused(strategy: Any, decoder: codec.Decoder[Any], data: st.DataObject) -> None:
    payload = codec.encode(data.draw(strategy))
    cut = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    with pytest.raises(codec.MalformedMessage) as info:
        decoder.decode(payload[:cut])
    assert info.value.reason


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=200))
def test_garbage_never_escapes_as_another_error(garbage: bytes) -> None:
    for decoder in (codec.market_events, codec.order_requests, codec.order_feedback, codec.schedule_commands):
        try:
            decoder.decode(garbage)
        except codec.MalformedMessage as exc:
            assert exc.reason


@settings(max_examples=200, deadline=None)
@given(message=ws.new_orders(), position=st.integers(min_value=0), byte=st.integers(0, 255))
def test_flipped_byte_is_refused_or_still_valid(message: m.NewOrder, position: int, byte: int) -> None:
    payload = bytearray(codec.encode(message))
    payload[position % len(payload)] = byte
    try:
        decoded = codec.order_requests.decode(bytes(payload))
    except codec.MalformedMessage:
        return
    # a flip that still decodes must yield a message that passes every check again
    assert codec.order_requests.decode(codec.encode(decoded)) == decoded


def test_prices_are_strings_on_the_wire_and_keep_their_digits() -> None:
    tick = m.Tick(symbol="AAPL", ts_ns=1, price=Decimal("187.1200"))
    raw = msgspec.json.decode(codec.encode(tick))
    assert raw["price"] == "187.1200"
    decoded = codec.market_events.decode(codec.encode(tick))
    assert isinstance(decoded, m.Tick)
    assert str(decoded.price) == "187.1200"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b'{"type":"tick","symbol":"A","ts_ns":1,"price":"-1"}', "price must be a positive"),
        (b'{"type":"tick","symbol":"","ts_ns":1,"price":"1"}', "at `.*symbol`"),
        (b'{"type":"tick","symbol":"A","ts_ns":1,"price":"1","v":2}', "schema version 2"),
        (b'{"type":"quote","symbol":"A"}', "invalid market event"),
        (
            b'{"type":"bar","symbol":"A","ts_ns":1,"open":"1","high":"1","low":"2","close":"1"}',
            "low 2 above high",
        ),
        (b'{"type":"tick","symbol":"A","price":"1"}', "ts_ns"),
    ],
)
def test_malformed_market_data_names_the_reason(payload: bytes, fragment: str) -> None:
    with pytest.raises(codec.MalformedMessage, match=fragment):
        codec.market_events.decode(payload)


def test_order_checks() -> None:
    base = {
        "type": "new",
        "client_order_id": "p-1-1",
        "portfolio_id": "p",
        "epoch": 1,
        "node_id": "n",
        "symbol": "A",
        "side": "buy",
        "quantity": "10",
        "created_ns": 1,
    }
    assert isinstance(codec.order_requests.decode(msgspec.json.encode(base)), m.NewOrder)
    changes: list[tuple[dict[str, Any], str]] = [
        ({"order_type": "limit"}, "needs limit_price"),
        ({"limit_price": "5"}, "market order takes no limit_price"),
        ({"quantity": "0"}, "quantity must be a positive"),
        ({"side": "hold"}, "side"),
        ({"epoch": -1}, "epoch"),
    ]
    for change, fragment in changes:
        with pytest.raises(codec.MalformedMessage, match=fragment):
            codec.order_requests.decode(msgspec.json.encode({**base, **change}))


def test_fill_report_needs_fill_fields() -> None:
    with pytest.raises(codec.MalformedMessage, match="fill_id"):
        codec.order_feedback.decode(
            b'{"status":"filled","client_order_id":"c","portfolio_id":"p","epoch":1,"fill_qty":"1"}'
        )
    with pytest.raises(codec.MalformedMessage, match="reason"):
        codec.order_feedback.decode(b'{"status":"rejected","client_order_id":"c","portfolio_id":"p","epoch":1}')
