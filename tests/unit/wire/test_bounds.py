"""Values the system cannot hold are refused at decode, with a reason naming the field;
values at the documented limits decode."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from livecore.wire import bounds, codec
from livecore.wire import messages as m

TICK: dict[str, Any] = {"type": "tick", "symbol": "AAPL", "ts_ns": 1_700_000_000_000_000_000, "price": "187.12"}
BAR: dict[str, Any] = {
    "type": "bar",
    "symbol": "AAPL",
    "ts_ns": 1_700_000_000_000_000_000,
    "open": "10",
    "high": "12",
    "low": "9",
    "close": "11",
    "volume": "1000",
}
ORDER: dict[str, Any] = {
    "type": "new",
    "client_order_id": "p-1-1",
    "portfolio_id": "p",
    "epoch": 1,
    "node_id": "n",
    "symbol": "AAPL",
    "side": "buy",
    "quantity": "10",
    "created_ns": 1,
}
CANCEL: dict[str, Any] = {
    "type": "cancel",
    "client_order_id": "p-1-1",
    "portfolio_id": "p",
    "epoch": 1,
    "node_id": "n",
    "created_ns": 1,
}
FILL: dict[str, Any] = {
    "status": "filled",
    "client_order_id": "p-1-1",
    "portfolio_id": "p",
    "epoch": 1,
    "symbol": "AAPL",
    "side": "buy",
    "fill_id": "p-1-1-f1",
    "fill_qty": "10",
    "fill_price": "187.12",
    "cumulative_qty": "10",
    "commission": "1",
    "ts_ns": 5,
}
COMMAND: dict[str, Any] = {
    "command": "node.pause",
    "target_node": "n",
    "issued_at_ns": 1,
    "nonce": "abc",
    "signature": "00" * 32,
}
BASES: dict[str, tuple[dict[str, Any], codec.Decoder[Any]]] = {
    "tick": (TICK, codec.market_events),
    "bar": (BAR, codec.market_events),
    "order": (ORDER, codec.order_requests),
    "cancel": (CANCEL, codec.order_requests),
    "fill": (FILL, codec.order_feedback),
    "command": (COMMAND, codec.schedule_commands),
}


def decode(kind: str, change: dict[str, Any]) -> Any:
    base, decoder = BASES[kind]
    return decoder.decode(msgspec.json.encode({**base, **change}))


@pytest.mark.parametrize("kind", list(BASES))
def test_the_bases_decode(kind: str) -> None:
    decode(kind, {})


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    # integers: 64-bit, non-negative where a negative means nothing
    ("order", {"epoch": 2**63}, r"epoch"),
    ("order", {"epoch": 10**30}, r"epoch"),
    ("order", {"epoch": -1}, r"epoch"),
    ("cancel", {"epoch": 2**64}, r"epoch"),
    ("fill", {"epoch": -5}, r"epoch"),
    ("order", {"v": 2**70}, r"\$\.v"),
    ("bar", {"interval_s": -60}, r"interval_s"),
    ("bar", {"interval_s": 0}, r"interval_s"),
    ("bar", {"interval_s": bounds.MAX_INTERVAL_S + 1}, r"interval_s"),
    # timestamps: 1970 .. 2200
    ("tick", {"ts_ns": -1}, r"ts_ns"),
    ("tick", {"ts_ns": bounds.MAX_TS_NS + 1}, r"ts_ns"),
    ("bar", {"ts_ns": 2**63 - 1}, r"ts_ns"),
    ("order", {"created_ns": -(2**63)}, r"created_ns"),
    ("fill", {"ts_ns": 10**25}, r"ts_ns"),
    ("command", {"issued_at_ns": -1}, r"issued_at_ns"),
    # decimals: finite, bounded, at most 12 places, positive where they must be
    ("tick", {"price": "1E+30"}, r"price must be below"),
    ("tick", {"price": "NaN"}, r"price must be a finite"),
    ("tick", {"price": "sNaN"}, r"price must be a finite"),
    ("tick", {"price": "Infinity"}, r"price must be a finite"),
    ("tick", {"price": "-Infinity"}, r"price must be a finite"),
    ("tick", {"price": "1E+999999999999999999"}, r"price must be below"),
    ("tick", {"price": "0.0000000000001"}, r"price has more than 12 decimal places"),
    ("tick", {"price": "0"}, r"price must be a positive"),
    ("tick", {"size": "-1"}, r"size must be >= 0"),
    ("tick", {"bid": "-1"}, r"bid must be a positive"),
    ("tick", {"ask": "NaN"}, r"ask must be a finite"),
    ("bar", {"volume": "-0.5"}, r"volume must be >= 0"),
    ("bar", {"open": "13"}, r"open 13 outside low-high"),
    ("bar", {"close": "8"}, r"close 8 outside low-high"),
    ("bar", {"low": "13", "open": "13", "close": "13"}, r"low 13 above high"),
    ("order", {"quantity": "1E+15"}, r"quantity must be below"),
    ("order", {"quantity": "Infinity"}, r"quantity must be a finite"),
    ("order", {"quantity": "-3"}, r"quantity must be a positive"),
    ("order", {"order_type": "limit", "limit_price": "1E+16"}, r"limit_price must be below"),
    ("fill", {"fill_qty": "0"}, r"fill_qty must be a positive"),
    ("fill", {"fill_price": "NaN"}, r"fill_price must be a finite"),
    ("fill", {"cumulative_qty": "-1"}, r"cumulative_qty must be >= 0"),
    ("fill", {"commission": "-1E+30"}, r"commission must be above"),
    ("fill", {"commission": "-0.0000000000001"}, r"commission has more than"),
    ("fill", {"commission": "1E+30"}, r"commission must be below"),
    ("fill", {"status": "accepted", "commission": "NaN"}, r"commission must be a finite"),
    # strings that become ids and keys
    ("tick", {"symbol": "A\u0001B"}, r"symbol"),
    ("tick", {"symbol": "AAPL\n"}, r"symbol"),
    ("tick", {"symbol": "A" * (bounds.MAX_NAME_LENGTH + 1)}, r"symbol"),
    ("order", {"portfolio_id": "p\x7f"}, r"portfolio_id"),
    ("order", {"node_id": "n\u2028"}, r"node_id"),
    ("order", {"client_order_id": "c" * (bounds.MAX_ORDER_ID_LENGTH + 1)}, r"client_order_id"),
    ("cancel", {"client_order_id": "c" * (bounds.MAX_ORDER_ID_LENGTH + 1)}, r"client_order_id"),
    ("fill", {"fill_id": "f" * (bounds.MAX_ID_LENGTH + 1)}, r"fill_id"),
    ("order", {"client_order_id": ""}, r"client_order_id"),
    ("fill", {"fill_id": "f\x00"}, r"fill_id"),
    ("fill", {"symbol": "\x1b[31m"}, r"symbol"),
    ("fill", {"commission_asset": "BNB\n"}, r"commission_asset"),
    ("fill", {"commission_asset": "B" * (bounds.MAX_NAME_LENGTH + 1)}, r"commission_asset"),
    ("command", {"target_node": "n\r"}, r"target_node"),
    ("command", {"nonce": "x" * (bounds.MAX_ID_LENGTH + 1)}, r"nonce"),
    ("command", {"signature": "a" * (bounds.MAX_SIGNATURE_LENGTH + 1)}, r"signature"),
]


@pytest.mark.parametrize(("kind", "change", "fragment"), REFUSED, ids=[f"{k}-{'-'.join(c)}" for k, c, _ in REFUSED])
def test_out_of_bounds_is_refused_naming_the_field(kind: str, change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(codec.MalformedMessage) as info:
        decode(kind, change)
    assert info.match(fragment)


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("order", {"epoch": 2**63 - 1}),
    ("order", {"epoch": 0, "created_ns": 0}),
    ("tick", {"ts_ns": bounds.MAX_TS_NS}),
    ("tick", {"price": "999999999999999.999999999999", "size": "0.000000000001"}),
    ("tick", {"price": "1E-12", "bid": "1E+14", "ask": "0.5"}),
    ("bar", {"open": "9", "close": "12", "volume": "0", "interval_s": 1}),
    ("bar", {"interval_s": bounds.MAX_INTERVAL_S}),
    ("order", {"quantity": "999999999999999", "order_type": "limit", "limit_price": "0.000000000001"}),
    ("fill", {"commission": "999999999999999999999999999999"}),
    ("fill", {"commission": "-0.01"}),  # a rebate
    ("order", {"portfolio_id": "p" * bounds.MAX_NAME_LENGTH, "symbol": "BTC/USDT \u00e9"}),
    ("fill", {"status": "accepted", "symbol": ""}),
    ("fill", {"commission_asset": "BNB"}),
    ("fill", {"commission_asset": ""}),
]


@pytest.mark.parametrize(("kind", "change"), ACCEPTED)
def test_values_at_the_limits_decode_and_round_trip(kind: str, change: dict[str, Any]) -> None:
    decoded = decode(kind, change)
    _, decoder = BASES[kind]
    assert decoder.decode(codec.encode(decoded)) == decoded


def test_construction_obeys_the_decimal_rules_too() -> None:
    """A component cannot build a message its peer would refuse."""
    with pytest.raises(ValueError, match="price must be below"):
        m.Tick(symbol="A", ts_ns=1, price=bounds.MAX_PRICE)
    with pytest.raises(ValueError, match="more than 12 decimal places"):
        m.Bar(symbol="A", ts_ns=1, open=D(1), high=D(2), low=D(1), close=D("1.0000000000001"))
    with pytest.raises(ValueError, match="open 3 outside low-high"):
        m.Bar(symbol="A", ts_ns=1, open=D(3), high=D(2), low=D(1), close=D(2))


def test_deeply_nested_parameters_are_malformed_not_a_recursion_error() -> None:
    payload = b'{"command":"x","target_node":"n","issued_at_ns":1,"nonce":"a","params":{"a":'
    payload += b"[" * 100_000 + b"]" * 100_000 + b"}}"
    with pytest.raises(codec.MalformedMessage, match="nested too deeply"):
        codec.schedule_commands.decode(payload)


def test_names_must_be_printable_on_construction_too() -> None:
    with pytest.raises(ValueError, match="node_id holds a non-printable character"):
        m.CancelOrder(client_order_id="c", portfolio_id="p", epoch=1, node_id="n\x00", created_ns=1)


def test_a_report_without_commission_asset_reads_as_the_quote() -> None:
    """Reports written before ``commission_asset`` existed decode unchanged: empty = quote."""
    fill = decode("fill", {})
    assert fill.commission_asset == ""
    assert b"commission_asset" not in msgspec.json.encode(FILL)


def test_a_reader_that_predates_commission_asset_ignores_it() -> None:
    """Forward compatibility: an older struct without the field still decodes a new report."""

    class OldFeedback(msgspec.Struct, frozen=True, kw_only=True):
        status: str
        client_order_id: str
        portfolio_id: str
        epoch: int
        commission: D = D(0)

    new = m.OrderFeedback(
        status=m.FeedbackStatus.ACCEPTED, client_order_id="c", portfolio_id="p", epoch=1, commission_asset="BNB"
    )
    old = msgspec.json.decode(codec.encode(new), type=OldFeedback)
    assert (old.client_order_id, old.commission) == ("c", D(0))
