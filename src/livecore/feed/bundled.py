"""The daily OHLCV dataset shipped inside the package (see ``livecore/data/README.md``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLED_SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")


def bundled_data_dir() -> Path:
    """Directory of the bundled CSV files (one per symbol), usable as a replay PATH."""
    return Path(str(files("livecore").joinpath("data")))
