"""`livecore db current|upgrade`: the database schema's migration revision.

Every process upgrades the database when it opens it; ``upgrade`` does it
ahead of time (before starting a new release's processes, to see it succeed
once), ``current`` shows where a database is without changing it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from livecore.adapters.sql import migrate
from livecore.adapters.sql.database import Database, SqlSettings
from livecore.cli.context import settings_of
from livecore.config import redact, validate_db_url
from livecore.errors import BackendUnavailable
from livecore.ports.store import StoreError

app = typer.Typer(help="The database schema: show or apply its migrations.", no_args_is_help=True)


@contextlib.contextmanager
def _database(url: str) -> Iterator[Database]:
    """The database named by ``--db``; a store failure becomes the CLI's one-line error."""
    validate_db_url(url)
    try:
        db = Database(url, SqlSettings())
    except StoreError as exc:
        raise BackendUnavailable(f"cannot open database {redact(url)}: {exc}") from None
    try:
        yield db
    except StoreError as exc:
        raise BackendUnavailable(f"database {redact(url)}: {exc}") from None
    finally:
        db.dispose()


def _name(revision: str | None) -> str:
    return revision or "none (new, or made before migrations)"


@app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the revision the database is at and the newest this release ships."""
    with _database(settings_of(ctx).db_url) as db:
        at = migrate.current(db)
    typer.echo(f"database: {_name(at)}")
    typer.echo(f"release:  {migrate.head()}")


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the database to the newest revision this release ships (what opening it does)."""
    with _database(settings_of(ctx).db_url) as db:
        before, after = migrate.upgrade(db)
    typer.echo(f"upgraded {_name(before)} -> {after}" if before != after else f"already at {after}")
