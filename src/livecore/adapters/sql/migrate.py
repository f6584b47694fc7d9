"""Schema migrations (alembic), run when a store opens and by ``livecore db``.

Every process that opens the database (scheduler, nodes, gateway, API, CLI)
brings it to the newest revision this release ships, inside one write
transaction under the schema lock: ``BEGIN IMMEDIATE`` on SQLite, an advisory
lock on PostgreSQL. Whoever comes second waits, then finds nothing to do.

A database made by a release before migrations has tables but no version
table: it is stamped at the revision its tables match, then upgraded. A
database at a revision this release does not know was upgraded by a newer
release; it is used as it is (migrations only add), with a warning.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from livecore.adapters.sql import schema
from livecore.adapters.sql.database import Database
from livecore.ports.store import StoreError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the tables as the releases before migrations created them
CODE_VERSION = "0002"  # lc_registry.code_version

# What ``create_all`` made before there were migrations (frozen: later tables are not here).
_LEGACY_TABLES = frozenset(
    t.name for t in (schema.snapshots, schema.journal_orders, schema.journal_feedback, schema.registry, schema.audit)
)


def config(conn: sa.Connection | None = None) -> Config:
    """Alembic's configuration without an ini file; ``env.py`` migrates on ``conn``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this release ships."""
    newest = _script().get_current_head()
    if newest is None:
        raise RuntimeError(f"no migrations under {MIGRATIONS}")
    return newest


def current(db: Database) -> str | None:
    """The revision the database is at (None: not created, or made before migrations)."""
    with db.read("schema version") as conn:
        return _revision_of(conn)


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the database to head under the schema lock; returns the revisions
    before and after (before is None for a new or a pre-migration database)."""
    with db.write("schema upgrade") as conn:
        db.lock(conn, schema.SCHEMA_LOCK)
        cfg = config(conn)
        before = _revision_of(conn)
        at = before
        if before is None:
            at = _legacy_revision(conn, db.label)
            if at is not None:
                command.stamp(cfg, at)
        if at is not None and not _known(at):
            log.warning("database %s is at schema revision %s, newer than this release's %s", db.label, at, head())
            return before, at
        if at != head():
            command.upgrade(cfg, "head")
        return before, head()


def _revision_of(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": schema.VERSION_TABLE}).get_current_revision()


def _known(revision: str) -> bool:
    return any(script.revision == revision for script in _script().walk_revisions())


def _legacy_revision(conn: sa.Connection, label: str) -> str | None:
    """The revision an unversioned database matches: None when it has none of
    our tables (a new database), else the baseline or a later one it has."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    if not tables & _LEGACY_TABLES:
        return None
    missing = _LEGACY_TABLES - tables
    if missing:
        raise StoreError(f"database {label} has some livecore tables but not {sorted(missing)}: not a known schema")
    columns = {column["name"] for column in inspector.get_columns(schema.registry.name)}
    return CODE_VERSION if "code_version" in columns else BASELINE
