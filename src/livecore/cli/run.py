"""`livecore run` (not built yet)."""

from __future__ import annotations

import typer


def run(ctx: typer.Context) -> None:
    """Not built yet."""
    raise NotImplementedError("livecore run is not built yet")
