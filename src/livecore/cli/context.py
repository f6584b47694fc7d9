"""What every subcommand gets from the global options."""

from __future__ import annotations

import typer

from livecore.config import Settings


def settings_of(ctx: typer.Context) -> Settings:
    """The ``Settings`` built from ``--bus/--coord/--db/--secret`` by the root callback."""
    root = ctx.find_root()
    settings = root.obj
    if not isinstance(settings, Settings):  # a subcommand invoked without the root app
        raise RuntimeError("livecore CLI context has no settings")
    return settings
