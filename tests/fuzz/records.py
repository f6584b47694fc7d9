"""Hypothesis strategies for the payloads of every consumed topic: valid,
boundary and invalid (garbage bytes, wrong schema, wrong types, extreme
numbers, huge strings, duplicated ids). Each strategy yields raw bytes: the
loops see exactly what a producer could put on the topic."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import strategies as st

from livecore.wire.codec import encode
from livecore.wire.signing import CommandSigner

SENTINEL_SYMBOL = "SENT"
VICTIM = "fz-victim"  # a hosted portfolio that trades the fuzzed symbols

# numbers at and past every boundary a column, a Decimal context or a 64-bit int has
EXTREME_INTS = st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30])
EXTREME_DECIMALS = st.sampled_from(
    ["0", "-1", "1", "0.0001", "1e-30", "1e30", "1e400", "-0", "NaN", "Infinity", "-Infinity", "1E+999999", "9" * 60]
)
DECIMALS = EXTREME_DECIMALS | st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str)
INTS = EXTREME_INTS | st.integers()
HUGE_STRINGS = st.sampled_from(["", " ", "\x00", "x" * 100_000, "é" * 2_000, "a\nb", "😀" * 50])
SHORT_IDS = st.sampled_from(["a", "b", "dup", "fz-1"])  # repeated on purpose: duplicated ids
STRINGS = HUGE_STRINGS | SHORT_IDS | st.text(max_size=30)
SYMBOLS = st.sampled_from(["AAA", "BBB", "CCC"]) | st.text(min_size=1, max_size=12).filter(
    lambda s: s != SENTINEL_SYMBOL
)

STATUSES = st.sampled_from(["accepted", "rejected", "partially_filled", "filled", "cancelled"])

# well-typed values a struct accepts, at their boundaries
OK_INTS = st.sampled_from([0, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1]) | st.integers(0, 2**64 - 1)
OK_DECIMALS = st.sampled_from(["0.0001", "1e-30", "1", "10", "1e30", "1E+999999", "9" * 60, "0." + "0" * 40 + "1"]) | (
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e12"), places=4).map(str)
)
OK_STRINGS = st.sampled_from(["x" * 100_000, "é" * 2_000, "a\nb", "😀" * 50, "\x00"]) | SHORT_IDS | st.text(min_size=1)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
GARBAGE = st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode())


def _wild(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: usually of the right kind, sometimes of a wrong type, or missing."""
    return values | JSON_VALUES | st.just(_MISSING)


_MISSING = object()


def _dump(fields: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in fields.items() if v is not _MISSING}).encode("utf-8", "surrogatepass")


def _valid(draw: st.DrawFn) -> bool:
    """Half the records are well-typed (boundary values), the rest wild or junk."""
    return draw(st.integers(0, 9)) < 5


@st.composite
def order_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["new", "new", "new", "cancel", "junk"]))
    if kind != "junk" and _valid(draw):
        return _dump(_valid_order(draw, kind))
    if kind == "junk":
        return draw(GARBAGE)
    pid = draw(st.sampled_from(["fz-p1", "fz-p2"]) | STRINGS)
    fields: dict[str, Any] = {
        "type": draw(st.just(kind) | _wild(STRINGS)),
        "client_order_id": draw(_wild(SHORT_IDS | STRINGS)),
        "portfolio_id": draw(st.just(pid) | _wild(STRINGS)),
        "epoch": draw(_wild(INTS)),
        "node_id": draw(_wild(STRINGS)),
        "created_ns": draw(_wild(INTS)),
    }
    if kind == "new":
        order_type = draw(st.sampled_from(["market", "limit"]) | _wild(STRINGS))
        fields |= {
            "symbol": draw(_wild(SYMBOLS)),
            "side": draw(st.sampled_from(["buy", "sell"]) | _wild(STRINGS)),
            "quantity": draw(_wild(DECIMALS)),
            "order_type": order_type,
            "limit_price": draw(DECIMALS) if order_type == "limit" else draw(st.just(_MISSING) | _wild(DECIMALS)),
            "time_in_force": draw(st.sampled_from(["gtc", "day", "ioc"]) | _wild(STRINGS)),
        }
    return _dump(fields)


def _valid_order(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": kind,
        "client_order_id": draw(OK_STRINGS),
        "portfolio_id": draw(st.sampled_from(["fz-p1", "fz-p2"]) | OK_STRINGS),
        "epoch": draw(OK_INTS),
        "node_id": draw(OK_STRINGS),
        "created_ns": draw(OK_INTS),
    }
    if kind == "new":
        limit = draw(st.booleans())
        fields |= {
            "symbol": draw(st.sampled_from(["AAA", "BBB", "CCC"]) | OK_STRINGS),
            "side": draw(st.sampled_from(["buy", "sell"])),
            "quantity": draw(OK_DECIMALS),
            "order_type": "limit" if limit else "market",
            "time_in_force": draw(st.sampled_from(["gtc", "day", "ioc"])),
        }
        if limit:
            fields["limit_price"] = draw(OK_DECIMALS)
    return fields


@st.composite
def market_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["tick", "tick", "bar", "junk"]))
    if kind != "junk" and _valid(draw):
        symbol = draw(st.sampled_from(["AAA", "BBB", "CCC"]) | OK_STRINGS.filter(lambda s: s != SENTINEL_SYMBOL))
        ts_ns = draw(st.just(time.time_ns()) | OK_INTS)
        if kind == "tick":
            return _dump({"type": "tick", "symbol": symbol, "ts_ns": ts_ns, "price": draw(OK_DECIMALS)})
        low, high = sorted([Decimal(draw(OK_DECIMALS)), Decimal(draw(OK_DECIMALS))])
        prices = {"open": draw(OK_DECIMALS), "high": str(high), "low": str(low), "close": draw(OK_DECIMALS)}
        return _dump({"type": "bar", "symbol": symbol, "ts_ns": ts_ns, **prices, "interval_s": draw(OK_INTS)})
    if kind == "junk":
        return draw(GARBAGE)
    fields: dict[str, Any] = {
        "type": draw(st.just(kind) | _wild(STRINGS)),
        "symbol": draw(_wild(SYMBOLS)),
        "ts_ns": draw(_wild(INTS)),
    }
    if kind == "tick":
        fields |= {"price": draw(_wild(DECIMALS)), "size": draw(_wild(DECIMALS))}
    else:
        fields |= {name: draw(_wild(DECIMALS)) for name in ("open", "high", "low", "close", "volume")}
        fields["interval_s"] = draw(_wild(INTS))
    return _dump(fields)


@st.composite
def feedback_payloads(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(GARBAGE)
    if _valid(draw):
        return _dump(_valid_feedback(draw))
    fields: dict[str, Any] = {
        "status": draw(
            st.sampled_from(["accepted", "rejected", "partially_filled", "filled", "cancelled"]) | _wild(STRINGS)
        ),
        "client_order_id": draw(_wild(SHORT_IDS | STRINGS)),
        "portfolio_id": draw(st.sampled_from(["fz-p1", "fz-p2"]) | _wild(STRINGS)),
        "epoch": draw(_wild(INTS)),
        "symbol": draw(_wild(SYMBOLS)),
        "fill_id": draw(_wild(SHORT_IDS | STRINGS)),
        "fill_qty": draw(_wild(DECIMALS)),
        "fill_price": draw(_wild(DECIMALS)),
        "reason": draw(_wild(STRINGS)),
        "ts_ns": draw(_wild(INTS)),
    }
    return _dump(fields)


def _valid_feedback(draw: st.DrawFn) -> dict[str, Any]:
    status = draw(STATUSES)
    fields: dict[str, Any] = {
        "status": status,
        "client_order_id": draw(OK_STRINGS),
        "portfolio_id": draw(st.sampled_from(["fz-p1", VICTIM]) | OK_STRINGS),
        "epoch": draw(OK_INTS),
        "symbol": draw(st.sampled_from(["AAA", "BBB"]) | OK_STRINGS),
        "ts_ns": draw(OK_INTS),
    }
    if status in ("partially_filled", "filled"):
        fields |= {"fill_id": draw(OK_STRINGS), "fill_qty": draw(OK_DECIMALS), "fill_price": draw(OK_DECIMALS)}
    if status == "rejected":
        fields["reason"] = draw(OK_STRINGS)
    return fields


# commands that cannot stop, pause or move what the suite watches
HARMLESS_COMMANDS = ["portfolio.load", "portfolio.unload", "portfolio.reload", "portfolio.migrate", "node.resume"]


@st.composite
def command_payloads(draw: st.DrawFn, signer: CommandSigner, node_id: str) -> tuple[bytes, str | None]:
    """A payload and, for a decodable command signed for this node, its nonce."""
    if draw(st.integers(0, 3)) == 0:
        return draw(GARBAGE), None
    command = draw(st.sampled_from([*HARMLESS_COMMANDS, "no.such.command"]) | HUGE_STRINGS)
    target = draw(st.just(node_id) | STRINGS)
    pid = draw(st.none() | st.just("fz-p1") | STRINGS.map(lambda s: f"fz-{s}"))
    params = draw(st.dictionaries(st.sampled_from(["epoch", "to", "spec_toml", "x"]), INTS | STRINGS, max_size=3))
    if command == "portfolio.migrate":
        params["to"] = "fz-elsewhere"  # never this node: a migrate to itself is refused anyway
    try:
        cmd = signer.build(command, target, pid, params)
    except (TypeError, ValueError, OverflowError):
        return draw(GARBAGE), None
    forged = draw(st.integers(0, 5)) == 0
    if forged:
        cmd = msgspec.structs.replace(cmd, signature="0" * 64)
    payload = encode(cmd)
    mine = target == node_id and not forged
    return payload, cmd.nonce if mine else None


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
