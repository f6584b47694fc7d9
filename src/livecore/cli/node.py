"""`livecore node` (not built yet)."""

from __future__ import annotations

import typer

app = typer.Typer(help="node (not built yet)", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Not built yet."""
    raise NotImplementedError("livecore node is not built yet")
