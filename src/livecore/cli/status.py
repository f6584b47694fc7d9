"""`livecore status` (not built yet)."""

from __future__ import annotations

import typer


def status(ctx: typer.Context) -> None:
    """Not built yet."""
    raise NotImplementedError("livecore status is not built yet")
