"""`livecore feed` (not built yet)."""

from __future__ import annotations

import typer

app = typer.Typer(help="feed (not built yet)", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Not built yet."""
    raise NotImplementedError("livecore feed is not built yet")
