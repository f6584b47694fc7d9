"""Bars as the pandas OHLCV frame that backtesting.py and backtrader read
(the reference engines the backtest's trades are compared with)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from livecore.wire.messages import Bar


def ohlcv_frame(bars: Sequence[Bar]) -> Any:
    """``Open, High, Low, Close, Volume`` floats indexed by the bars' UTC times (naive)."""
    import pandas as pd  # a dev dependency: only tests and bench build frames

    return pd.DataFrame(
        {
            "Open": [float(b.open) for b in bars],
            "High": [float(b.high) for b in bars],
            "Low": [float(b.low) for b in bars],
            "Close": [float(b.close) for b in bars],
            "Volume": [float(b.volume) for b in bars],
        },
        index=pd.to_datetime([b.ts_ns for b in bars], unit="ns"),
    )
