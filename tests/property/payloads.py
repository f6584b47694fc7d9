"""Hypothesis strategies for raw JSON payloads of every wire message type, mixing
plausible values with boundary and out-of-range ones (huge and negative
integers, NaN/Infinity/sNaN, absurd magnitudes and scales, control characters,
overlong ids, wrong types, missing fields). Most do not decode; the ones that
do must be safe to journal, price, fill and book."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from livecore.wire import bounds

# --- integers --------------------------------------------------------------------

_EDGE_INTS = [
    0,
    1,
    -1,
    2**31,
    2**63 - 1,
    2**63,
    -(2**63),
    2**64,
    10**30,
    -(10**30),
    bounds.MAX_TS_NS,
    bounds.MAX_TS_NS + 1,
    bounds.MAX_INTERVAL_S,
    bounds.MAX_INTERVAL_S + 1,
]
ints = st.sampled_from(_EDGE_INTS) | st.integers(min_value=-(2**70), max_value=2**70) | st.integers(0, 10**6)
timestamps = (
    st.sampled_from(_EDGE_INTS)
    | st.integers(min_value=0, max_value=bounds.MAX_TS_NS)
    | st.just(1_700_000_000_000_000_000)
)

# --- decimals (as JSON strings, or sometimes as bare JSON numbers) -------------------

_EDGE_DECIMALS = [
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "100",
    "187.1234",
    "1E+30",
    "-1E+30",
    "1E+15",
    "999999999999999.999999999999",
    "999999999999999",
    "1E-12",
    "1E-13",
    "0.000000000001",
    "1.0000000000000",
    "1E+999999999",
    "1E-999999999",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e14",
    "12345678901234567890.123456789",
    "",
    "abc",
]
decimal_strings = (
    st.sampled_from(_EDGE_DECIMALS)
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.decimals(min_value=0, max_value=10**6, places=4).map(str)
    | st.integers(min_value=-(10**40), max_value=10**40).map(str)
)
decimals: st.SearchStrategy[Any] = decimal_strings | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False)

# --- strings --------------------------------------------------------------------------

_EDGE_TEXT = [
    "",
    "AAPL",
    "p1",
    "p1-1-1",
    "n1",
    "\x00",
    "a\n",
    "a\r\nb",
    "\x1b[31m",
    "\u2028",
    "\u0085",
    "\x7f",
    "é中😀",
    "x" * bounds.MAX_NAME_LENGTH,
    "x" * (bounds.MAX_NAME_LENGTH + 1),
    "x" * bounds.MAX_ORDER_ID_LENGTH,
    "x" * (bounds.MAX_ORDER_ID_LENGTH + 1),
    "x" * bounds.MAX_ID_LENGTH,
    "x" * (bounds.MAX_ID_LENGTH + 1),
]
texts = st.sampled_from(_EDGE_TEXT) | st.text(max_size=20) | st.text(alphabet="ABCDEFxyz0123456789-._", max_size=12)

# --- odd values for any field ---------------------------------------------------------

odd = st.none() | st.booleans() | st.just([]) | st.just({}) | st.just("?")


# --- valid values, boundaries included ------------------------------------------------

ok_ints = st.sampled_from([0, 1, 2**63 - 1]) | st.integers(0, 2**63 - 1)
ok_timestamps = st.sampled_from([0, bounds.MAX_TS_NS, 1_700_000_000_000_000_000]) | st.integers(0, bounds.MAX_TS_NS)
ok_prices = st.sampled_from(["999999999999999.999999999999", "1E-12", "0.000000000001", "1E+14", "100"]) | st.decimals(
    min_value="0.000000000001", max_value="999999999999999", places=12
).map(str)
ok_amounts = st.sampled_from(["0", "999999999999999999999999999999.999999999999"]) | ok_prices
ok_names = st.sampled_from(["AAPL", "p1", "x" * bounds.MAX_NAME_LENGTH, "é中😀"]) | st.text(
    alphabet="ABCXYZabc0123456789-._/", min_size=1, max_size=16
)
ok_order_ids = ok_names | st.just("x" * bounds.MAX_ORDER_ID_LENGTH)
ok_ids = ok_order_ids | st.just("x" * bounds.MAX_ID_LENGTH)


def _payload(
    draw: st.DrawFn, fields: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]], fixed: dict[str, Any]
) -> bytes:
    """Each field valid, then a few replaced by a hostile value (or dropped)."""
    body: dict[str, Any] = dict(fixed)
    hostile_rate = draw(st.sampled_from([0, 2, 4, 8]))  # 1 in N fields turned hostile (0: none)
    for name, (good, bad) in fields.items():
        roll = draw(st.integers(0, 63))
        if roll == 0:
            continue  # a missing field
        if hostile_rate and roll % hostile_rate == 1:
            body[name] = draw(st.one_of(bad, bad, bad, odd))
        else:
            body[name] = draw(good)
    if draw(st.integers(0, 15)) == 0:
        body["v"] = draw(ints)
    return msgspec.json.encode(body)


sides = st.sampled_from(["buy", "sell", "hold", "BUY"])
ok_sides = st.sampled_from(["buy", "sell"])


@st.composite
def tick_payloads(draw: st.DrawFn) -> bytes:
    fields = {
        "symbol": (ok_names, texts),
        "ts_ns": (ok_timestamps, timestamps),
        "price": (ok_prices, decimals),
        "size": (st.just("0") | ok_prices, decimals),
        "bid": (st.none() | ok_prices, decimals),
        "ask": (st.none() | ok_prices, decimals),
    }
    return _payload(draw, fields, {"type": "tick"})


@st.composite
def bar_payloads(draw: st.DrawFn) -> bytes:
    low, high = sorted(draw(st.lists(ok_prices, min_size=2, max_size=2)), key=lambda x: float(x))
    mid = st.sampled_from([low, high])
    fields = {
        "symbol": (ok_names, texts),
        "ts_ns": (ok_timestamps, timestamps),
        "open": (mid, decimals),
        "high": (st.just(high), decimals),
        "low": (st.just(low), decimals),
        "close": (mid, decimals),
        "volume": (st.just("0") | ok_prices, decimals),
        "interval_s": (st.sampled_from([1, 60, 86_400, bounds.MAX_INTERVAL_S]), ints),
    }
    return _payload(draw, fields, {"type": "bar"})


@st.composite
def new_order_payloads(draw: st.DrawFn) -> bytes:
    limit = draw(st.booleans())
    fields = {
        "client_order_id": (ok_order_ids, texts),
        "portfolio_id": (ok_names, texts),
        "epoch": (ok_ints, ints),
        "node_id": (ok_names, texts),
        "symbol": (ok_names, texts),
        "side": (ok_sides, sides),
        "quantity": (ok_prices, decimals),
        "order_type": (st.just("limit" if limit else "market"), st.sampled_from(["market", "limit", "stop"])),
        "limit_price": (ok_prices if limit else st.none(), st.none() | decimals),
        "time_in_force": (st.sampled_from(["gtc", "day", "ioc"]), st.sampled_from(["fok", "GTC", ""])),
        "created_ns": (ok_timestamps, timestamps),
    }
    return _payload(draw, fields, {"type": "new"})


@st.composite
def cancel_payloads(draw: st.DrawFn) -> bytes:
    fields = {
        "client_order_id": (ok_order_ids, texts),
        "portfolio_id": (ok_names, texts),
        "epoch": (ok_ints, ints),
        "node_id": (ok_names, texts),
        "created_ns": (ok_timestamps, timestamps),
    }
    return _payload(draw, fields, {"type": "cancel"})


@st.composite
def feedback_payloads(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from(["accepted", "rejected", "partially_filled", "filled", "cancelled"]))
    fill = status in ("partially_filled", "filled")
    fields = {
        "status": (st.just(status), st.sampled_from(["lost", "FILLED", ""])),
        "client_order_id": (ok_order_ids, texts),
        "portfolio_id": (ok_names, texts),
        "epoch": (ok_ints, ints),
        "symbol": (st.just("") | ok_names, texts),
        "side": (st.none() | ok_sides, sides),
        "venue_order_id": (st.none() | ok_ids, texts),
        "fill_id": (ok_ids if fill else st.none() | ok_ids, st.none() | texts),
        "fill_qty": (ok_prices if fill else st.none(), st.none() | decimals),
        "fill_price": (ok_prices if fill else st.none(), st.none() | decimals),
        "cumulative_qty": (st.just("0") | ok_prices, decimals),
        "commission": (ok_amounts, decimals),
        "reason": (st.just("why") if status == "rejected" else st.none() | texts, st.none() | texts),
        "ts_ns": (ok_timestamps, timestamps),
    }
    return _payload(draw, fields, {})


_json_values = st.recursive(
    st.none() | st.booleans() | ints | texts | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def command_payloads(draw: st.DrawFn) -> bytes:
    fields = {
        "command": (st.sampled_from(["portfolio.load", "portfolio.migrate", "node.shutdown"]), texts),
        "target_node": (ok_names, texts),
        "portfolio_id": (st.none() | ok_names, texts),
        "params": (st.dictionaries(ok_names, _json_values, max_size=3), st.dictionaries(texts, _json_values)),
        "issued_at_ns": (ok_timestamps, timestamps),
        "nonce": (ok_ids, texts),
        "signature": (st.sampled_from(["", "00" * 32]), st.sampled_from(["zz" * 32, "é" * 64, "0" * 257]) | texts),
    }
    return _payload(draw, fields, {})
