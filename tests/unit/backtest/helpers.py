"""Specs and data shared by the backtest tests."""

from __future__ import annotations

from livecore.domain.spec import PortfolioSpec, parse_spec
from livecore.feed.bundled import bundled_data_dir
from livecore.feed.readers import load_replay
from livecore.wire.messages import MarketEvent


def ma_spec(symbol: str, *, sizer: str, pid: str | None = None, fast: int = 5, slow: int = 20) -> PortfolioSpec:
    """ma_crossover on one symbol, no risk rules: the rule an independent engine can mirror."""
    return parse_spec(
        f"""
id = "{pid or "ma-" + symbol.lower()}"
initial_cash = 100000
symbols = ["{symbol}"]
[strategy]
class = "ma_crossover"
params = {{ fast = {fast}, slow = {slow} }}
[sizer]
{sizer}
"""
    )


def bundled(symbol: str) -> list[MarketEvent]:
    return load_replay(bundled_data_dir(), [symbol]).events
