"""Each built-in strategy on a fixed price path, on ticks and on bars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.domain import Portfolio, PortfolioSpec
from livecore.wire.messages import NewOrder
from tests.unit.domain.helpers import bar, fill, spec, tick

Trade = tuple[int, str, str, Decimal]  # (event index, symbol, side, quantity)


def run(s: PortfolioSpec, path: list[tuple[str, int]], use_bars: bool, restore_at: int | None = None) -> list[Trade]:
    """Replay ``path`` (symbol, price); fill every order at once at the event price."""
    p = Portfolio.create(s, 1, "n1")
    trades: list[Trade] = []
    for i, (symbol, price) in enumerate(path):
        if i == restore_at:
            p = Portfolio.restore(p.snapshot(), s, 1, "n1")
        p.on_market(bar(price, i, symbol) if use_bars else tick(price, i, symbol))
        for order in p.drain_outbox():
            assert isinstance(order, NewOrder)
            trades.append((i, order.symbol, order.side.value, order.quantity))
            p.on_feedback(fill(order, price=price, fill_id=order.client_order_id))
    assert p.fault is None
    return trades


def one(prices: list[int], symbol: str = "AAPL") -> list[tuple[str, int]]:
    return [(symbol, px) for px in prices]


CASES = {
    "ma_crossover": (
        spec("ma_crossover", "fast = 2, slow = 4"),
        one([10, 10, 10, 10, 11, 12, 11, 9, 8, 9, 12]),
        [(4, "AAPL", "buy", 10), (7, "AAPL", "sell", 10), (10, "AAPL", "buy", 10)],
    ),
    "ma_crossover_short": (
        spec("ma_crossover", "fast = 2, slow = 4, short = true", extra="allow_short = true"),
        one([10, 10, 10, 10, 11, 12, 11, 9, 8, 9, 12]),
        [(4, "AAPL", "buy", 10), (7, "AAPL", "sell", 20), (10, "AAPL", "buy", 20)],
    ),
    "breakout": (
        spec("breakout", "lookback = 3, exit_lookback = 2"),
        one([10, 11, 10, 12, 13, 12, 11, 10, 9, 12]),
        [(3, "AAPL", "buy", 10), (6, "AAPL", "sell", 10), (9, "AAPL", "buy", 10)],
    ),
    "bollinger": (
        spec("bollinger", "window = 4, num_std = 1"),
        one([10, 10, 10, 10, 8, 9, 10, 10]),
        [(4, "AAPL", "buy", 10), (6, "AAPL", "sell", 10)],
    ),
    "buy_and_hold": (
        spec("buy_and_hold", "", symbols='["AAPL", "MSFT"]'),
        [("AAPL", 10), ("MSFT", 20), ("AAPL", 11), ("MSFT", 19), ("AAPL", 5)],
        [(0, "AAPL", "buy", 10), (1, "MSFT", "buy", 10)],
    ),
}


@pytest.mark.parametrize("use_bars", [False, True], ids=["ticks", "bars"])
@pytest.mark.parametrize("name", list(CASES))
def test_builtin_emits_expected_orders(name: str, use_bars: bool) -> None:
    s, path, expected = CASES[name]
    assert run(s, path, use_bars) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_builtin_survives_snapshot_restore_mid_path(name: str) -> None:
    s, path, expected = CASES[name]
    for cut in range(1, len(path)):
        assert run(s, path, False, restore_at=cut) == expected, f"restored at {cut}"


def test_moving_average_refuses_fast_not_below_slow() -> None:
    from livecore.domain import SpecError

    with pytest.raises(SpecError) as err:
        spec("ma_crossover", "fast = 5, slow = 5")
    assert err.value.field == "strategy.params.fast"
