"""ma_crossover keeps running sums of its windows; its decisions must be those
of averages recomputed from the whole window on every price."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.domain.builtins.strategies import MovingAverageCross
from livecore.domain.strategy import Direction

prices = st.lists(
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4, allow_nan=False),
    min_size=1,
    max_size=80,
)


class _Flat:
    """Flat, and never holding a signal's level (as with an order working), so
    that every decision comes out as a signal."""

    def position(self, symbol: str) -> Decimal:
        return Decimal(0)

    def holds(self, symbol: str, direction: Direction) -> bool:
        return False

    def has_open_order(self, symbol: str) -> bool:
        return False


def _naive(window: list[Decimal], fast: int, slow: int) -> Direction | None:
    if len(window) < slow:
        return None
    f, s = sum(window[-fast:], Decimal(0)) / fast, sum(window[-slow:], Decimal(0)) / slow
    return Direction.LONG if f > s else Direction.FLAT if f < s else None


@settings(max_examples=200, deadline=None)
@given(values=prices, fast=st.integers(1, 6), extra=st.integers(1, 10))
def test_running_sums_decide_as_recomputed_averages(values: list[Decimal], fast: int, extra: int) -> None:
    slow = fast + extra
    strategy = MovingAverageCross(symbols=("X",), fast=fast, slow=slow)
    strategy.bind(_Flat())  # type: ignore[arg-type]
    strategy.on_start()
    seen: list[Decimal] = []
    for price in values:
        seen.append(price)
        signals = strategy.on_price("X", price, 0)
        got = signals[0].direction if signals else None
        assert got == _naive(seen[-slow:], fast, slow)


def test_restored_strategy_sums_afresh() -> None:
    first = MovingAverageCross(symbols=("X",), fast=2, slow=3)
    first.bind(_Flat())  # type: ignore[arg-type]
    first.on_start()
    for p in ("1", "2", "3", "4"):
        first.on_price("X", Decimal(p), 0)
    second = MovingAverageCross(symbols=("X",), fast=2, slow=3)
    second.bind(_Flat())  # type: ignore[arg-type]
    second.on_start()
    second.restore(first.state())
    a, b = first.on_price("X", Decimal("1"), 0), second.on_price("X", Decimal("1"), 0)
    assert [s.direction for s in a or []] == [s.direction for s in b or []] == [Direction.FLAT]


class _Working(_Flat):
    """Flat, with an order working for every symbol (not answered yet)."""

    def has_open_order(self, symbol: str) -> bool:
        return True


def test_a_signal_the_pipeline_will_suppress_is_the_prebuilt_one() -> None:
    """With an order working the pipeline suppresses any level signal: the strategy
    answers with the one it built once (short reason), not a new one with the
    averages written out; with none working it writes them out."""
    working = MovingAverageCross(symbols=("X",), fast=1, slow=2)
    working.bind(_Working())  # type: ignore[arg-type]
    working.on_start()
    working.on_price("X", Decimal("1"), 0)
    first, second = working.on_price("X", Decimal("2"), 0), working.on_price("X", Decimal("3"), 0)
    assert first is second and first is not None
    assert [(s.direction, s.reason) for s in first] == [(Direction.LONG, "fast > slow")]
    idle = MovingAverageCross(symbols=("X",), fast=1, slow=2)
    idle.bind(_Flat())  # type: ignore[arg-type]
    idle.on_start()
    idle.on_price("X", Decimal("1"), 0)
    fresh = idle.on_price("X", Decimal("2"), 0)
    assert fresh is not None and fresh[0].direction is Direction.LONG
    assert fresh[0].reason == "fast 2.0000 > slow 1.5000"
