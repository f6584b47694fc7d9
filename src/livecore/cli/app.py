"""Root of the ``livecore`` CLI: global backend options and error handling.

Every failure the project anticipates (bad URL, unreachable server, invalid
spec) is a ``LivecoreError``: printed as one line on stderr, exit code 2.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from livecore import __version__
from livecore.cli import (
    api,
    backtest,
    books,
    db,
    feed,
    gateway,
    halt,
    node,
    portfolio,
    run,
    scheduler,
    status,
    trades,
    venue_sim,
)
from livecore.config import (
    DEFAULT_BUS_URL,
    DEFAULT_COORD_URL,
    DEFAULT_DB_URL,
    DEFAULT_NOTIFY_FILLS,
    DeploymentSettings,
    split_urls,
)
from livecore.errors import LivecoreError

app = typer.Typer(
    name="livecore",
    help="A distributed live-trading runtime: execution nodes, scheduler, paper gateway, market data feed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"livecore {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    bus: str = typer.Option(
        DEFAULT_BUS_URL, "--bus", envvar="LIVECORE_BUS", help="memory:// or kafka://host:port[,host:port]"
    ),
    coord: str = typer.Option(
        DEFAULT_COORD_URL, "--coord", envvar="LIVECORE_COORD", help="memory:// or redis://host:port/db"
    ),
    db: str = typer.Option(DEFAULT_DB_URL, "--db", envvar="LIVECORE_DB", help="sqlite:///path or postgresql://..."),
    secret: str = typer.Option(
        "",
        "--secret",
        envvar="LIVECORE_SECRET",
        help="command-signing key (required off the embedded bus)",
        show_default=False,
    ),
    topic_prefix: str = typer.Option(
        "", "--topic-prefix", envvar="LIVECORE_TOPIC_PREFIX", help="prefix added to every topic name"
    ),
    notify: list[str] = typer.Option(
        [],
        "--notify",
        envvar="LIVECORE_NOTIFY",
        help="apprise URL for operator notifications (repeatable; the variable: comma or space separated)",
        show_default=False,
    ),
    notify_fills: bool = typer.Option(
        DEFAULT_NOTIFY_FILLS, "--notify-fills", envvar="LIVECORE_NOTIFY_FILLS", help="also notify every fill"
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """Global options: where the bus, the coordination store and the database are,
    and where operator notifications go."""
    ctx.obj = DeploymentSettings(
        bus_url=bus,
        coord_url=coord,
        db_url=db,
        secret=secret,
        topic_prefix=topic_prefix,
        notify_urls=split_urls(notify),
        notify_fills=notify_fills,
    )


app.command("run")(run.run)
app.add_typer(node.app, name="node")
app.add_typer(gateway.app, name="gateway")
app.add_typer(feed.app, name="feed")
app.command("scheduler")(scheduler.scheduler)
app.add_typer(portfolio.app, name="portfolio")
app.command("status")(status.status)
app.command("api")(api.api)
app.add_typer(books.app, name="books")
app.add_typer(trades.app, name="trades")
app.command("backtest")(backtest.backtest)
app.add_typer(db.app, name="db")
app.command("halt")(halt.halt_command)
app.command("resume-all")(halt.resume_all_command)
app.command("venue-sim")(venue_sim.venue_sim)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except LivecoreError as exc:
        # the message is text, not markup: "[[risk]]" or "[refused: ...]" must print as written
        Console(stderr=True, soft_wrap=True).print(f"[bold red]livecore: error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
