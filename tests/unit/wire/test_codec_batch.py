"""``Decoder.batch``: one msgspec call for a batch, and exactly what decoding each
payload on its own gives, or None (the caller then decodes them one by one)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.wire import codec
from tests.unit.wire import strategies as ws

PAYLOADS = st.one_of(
    ws.ticks.map(codec.encode),
    ws.bars().map(codec.encode),
    st.binary(max_size=40),
    st.sampled_from([b"", b" ", b",", b"]", b"[", b"null", b"[]"]),
)


def one_by_one(payloads: list[bytes]) -> list[Any] | None:
    try:
        return [codec.market_events.unwrapped(payload) for payload in payloads]
    except codec.REFUSALS:
        return None


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(PAYLOADS, max_size=8))
def test_a_batch_decodes_as_its_payloads_do_one_by_one(payloads: list[bytes]) -> None:
    assert codec.market_events.batch(payloads) == one_by_one(payloads)


@settings(max_examples=100, deadline=None)
@given(first=ws.ticks, second=ws.ticks, rest=st.lists(ws.ticks, max_size=3))
def test_two_messages_in_one_payload_are_refused_not_split(first: Any, second: Any, rest: list[Any]) -> None:
    joined = codec.encode(first) + b"," + codec.encode(second)
    payloads = [joined, *map(codec.encode, rest)]
    assert codec.market_events.batch(payloads) is None
    assert codec.market_events.batch([codec.encode(first), codec.encode(second)]) == [first, second]
