"""Decode cost of the wire's bounds: the bounded structs against unbounded copies.

For each hot message type (``Tick``, ``Bar``, ``NewOrder``, ``OrderFeedback``
fill), decodes the same pre-encoded payloads with the production decoder
(``wire.codec``, bounded: msgspec constraints + ``__post_init__`` checks) and
with a baseline decoder of the same struct shape whose only check is the one
the structs had before the bounds (a positive price/quantity). Reports the
best of ``--repeat`` runs in ns per message and the ratio. Asserts nothing.

    .venv/bin/python bench/bench_wire_decode.py [--messages 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from typing import Any

import msgspec

from livecore.wire import codec
from livecore.wire import messages as m


def _positive(value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise ValueError("must be positive")


class BaseTick(msgspec.Struct, frozen=True, kw_only=True, tag="tick", tag_field="type"):
    symbol: str
    ts_ns: int
    price: Decimal
    size: Decimal = Decimal(0)
    bid: Decimal | None = None
    ask: Decimal | None = None
    v: int = 1

    def __post_init__(self) -> None:
        _positive(self.price)


class BaseBar(msgspec.Struct, frozen=True, kw_only=True, tag="bar", tag_field="type"):
    symbol: str
    ts_ns: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)
    interval_s: int = 86_400
    v: int = 1

    def __post_init__(self) -> None:
        for value in (self.open, self.high, self.low, self.close):
            _positive(value)


class BaseOrder(msgspec.Struct, frozen=True, kw_only=True, tag="new", tag_field="type"):
    client_order_id: str
    portfolio_id: str
    epoch: int
    node_id: str
    symbol: str
    side: m.Side
    quantity: Decimal
    order_type: m.OrderType = m.OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: m.TimeInForce = m.TimeInForce.GTC
    created_ns: int
    v: int = 1

    def __post_init__(self) -> None:
        _positive(self.quantity)


class BaseFeedback(msgspec.Struct, frozen=True, kw_only=True):
    status: m.FeedbackStatus
    client_order_id: str
    portfolio_id: str
    epoch: int
    symbol: str = ""
    side: m.Side | None = None
    venue_order_id: str | None = None
    fill_id: str | None = None
    fill_qty: Decimal | None = None
    fill_price: Decimal | None = None
    cumulative_qty: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    reason: str | None = None
    ts_ns: int = 0
    v: int = 1

    def __post_init__(self) -> None:
        if self.fill_qty is not None:
            _positive(self.fill_qty)
        if self.fill_price is not None:
            _positive(self.fill_price)


T0 = 1_700_000_000_000_000_000


def _samples(n: int) -> dict[str, tuple[list[bytes], Any, Any]]:
    ticks = [
        codec.encode(m.Tick(symbol=f"S{i % 2000:04d}", ts_ns=T0 + i, price=Decimal(100 + i % 50) / 4, size=Decimal(3)))
        for i in range(n)
    ]
    bars = [
        codec.encode(
            m.Bar(
                symbol=f"S{i % 2000:04d}",
                ts_ns=T0 + i,
                open=Decimal("10.5"),
                high=Decimal("11.25"),
                low=Decimal("10.0"),
                close=Decimal("11.0"),
                volume=Decimal(1000 + i),
            )
        )
        for i in range(n)
    ]
    orders = [
        codec.encode(
            m.NewOrder(
                client_order_id=f"p{i % 200}-3-{i}",
                portfolio_id=f"p{i % 200}",
                epoch=3,
                node_id="node-1",
                symbol=f"S{i % 2000:04d}",
                side=m.Side.BUY,
                quantity=Decimal(10),
                created_ns=T0 + i,
            )
        )
        for i in range(n)
    ]
    fills = [
        codec.encode(
            m.OrderFeedback(
                status=m.FeedbackStatus.FILLED,
                client_order_id=f"p{i % 200}-3-{i}",
                portfolio_id=f"p{i % 200}",
                epoch=3,
                symbol=f"S{i % 2000:04d}",
                side=m.Side.BUY,
                venue_order_id=f"paper-p{i % 200}-3-{i}",
                fill_id=f"p{i % 200}-3-{i}-f1",
                fill_qty=Decimal(10),
                fill_price=Decimal("187.1234"),
                cumulative_qty=Decimal(10),
                commission=Decimal("1.25"),
                ts_ns=T0 + i,
            )
        )
        for i in range(n)
    ]
    return {
        "tick": (ticks, codec.market_events, msgspec.json.Decoder(BaseTick | BaseBar)),
        "bar": (bars, codec.market_events, msgspec.json.Decoder(BaseTick | BaseBar)),
        "new order": (orders, codec.order_requests, msgspec.json.Decoder(BaseOrder)),
        "fill report": (fills, codec.order_feedback, msgspec.json.Decoder(BaseFeedback)),
    }


def _best_ns(decode: Any, payloads: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for payload in payloads:
            decode(payload)
        best = min(best, (time.perf_counter_ns() - start) / len(payloads))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'message':<12} {'unbounded ns':>13} {'bounded ns':>11} {'ratio':>6}")
    for name, (payloads, bounded, baseline) in _samples(args.messages).items():
        base = _best_ns(baseline.decode, payloads, args.repeat)
        ours = _best_ns(bounded.decode, payloads, args.repeat)
        print(f"{name:<12} {base:>13.0f} {ours:>11.0f} {ours / base:>6.2f}")


if __name__ == "__main__":
    main()
