"""`livecore scheduler` (not built yet)."""

from __future__ import annotations

import typer


def scheduler(ctx: typer.Context) -> None:
    """Not built yet."""
    raise NotImplementedError("livecore scheduler is not built yet")
