"""One engine for SQLite and PostgreSQL, short transactions, clear errors.

SQLite: the parent directory is created, WAL lets readers run beside the one
writer, and write transactions start with ``BEGIN IMMEDIATE`` so a
read-then-write (next snapshot version, conditional updates) takes the write
lock up front and waits ``busy_timeout`` for it instead of failing half way.
PostgreSQL goes through psycopg2 (SQLAlchemy 2.1 would pick psycopg 3 for a
bare ``postgresql://``) with a connect timeout, so a dead server fails fast.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from livecore.ports.store import StoreError
from livecore.retry import Backoff, retry

_WRITE = "livecore_write"
_WAL_BACKOFF = Backoff(0.005, 0.2)  # between tries to switch a new file to WAL


@dataclass(frozen=True, slots=True)
class SqlSettings:
    """Every tunable of the SQL store in one place."""

    snapshot_versions_kept: int = 5
    # a portfolio's equity curve: above this many points its older half is thinned
    equity_points_kept: int = 10_000
    sqlite_busy_timeout_s: float = 15.0
    sqlite_synchronous: str = "FULL"  # durable on power loss; NORMAL survives a process crash only
    pg_connect_timeout_s: int = 3
    pool_size: int = 5
    max_overflow: int = 10
    conflict_retries: int = 5  # concurrent snapshot saves of one portfolio


class StoreConflict(StoreError):
    """A unique or check constraint refused a write (callers may resolve it)."""


def describe(url: str | URL) -> str:
    """The URL without its password, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def _driver_url(url: str) -> URL:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise StoreError(
                f"SQLite database {url!r} is not a file: many connections need one file, "
                "e.g. sqlite:///.livecore/livecore.db"
            )
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return parsed


def _enable_wal(cursor: Any, timeout_s: float) -> None:
    """Switch the file to WAL once (the mode persists in the file). Switching needs
    an exclusive lock and SQLite may answer "database is locked" at once, without
    its busy handler, while other connections race to open a new file: retry
    within the busy timeout."""

    def switch() -> None:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")

    def locked(exc: Exception, _attempt: int) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)

    retry(switch, retry_on=locked, backoff=_WAL_BACKOFF.pause, give_up_after_s=timeout_s)


def _setup_sqlite(engine: Engine, settings: SqlSettings) -> None:
    busy_ms = int(settings.sqlite_busy_timeout_s * 1000)
    synchronous = settings.sqlite_synchronous.upper()
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise StoreError(f"bad sqlite_synchronous {settings.sqlite_synchronous!r}")

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            _enable_wal(cursor, settings.sqlite_busy_timeout_s)
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """The engine plus read and write transactions that map driver errors to
    ``StoreError`` (``StoreConflict`` for constraint violations)."""

    def __init__(self, url: str, settings: SqlSettings) -> None:
        self.settings = settings
        self.label = describe(url) if "://" in url else url
        try:
            driver_url = _driver_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"bad database URL {url!r}: {exc}") from None
        self.dialect = driver_url.get_backend_name()
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            options["connect_args"] = {
                "timeout": settings.sqlite_busy_timeout_s,
                "check_same_thread": False,
            }
        else:
            options["connect_args"] = {"connect_timeout": settings.pg_connect_timeout_s}
            options["pool_size"] = settings.pool_size
            options["max_overflow"] = settings.max_overflow
        try:
            self.engine = sa.create_engine(driver_url, **options)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {self.label}: {exc}") from None
        if self.dialect == "sqlite":
            _setup_sqlite(self.engine, settings)

    @contextlib.contextmanager
    def read(self, what: str = "read") -> Iterator[Connection]:
        """A short read transaction (a consistent snapshot on both backends)."""
        with self._mapped(what), self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self, what: str = "write") -> Iterator[Connection]:
        """A short write transaction, committed when the block exits cleanly."""
        with (
            self._mapped(what),
            self.engine.connect() as conn,
        ):
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def lock(self, conn: Connection, key: int) -> None:
        """Serialize writers of one kind until commit. SQLite's write lock already
        does; PostgreSQL takes a transaction-scoped advisory lock."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    @contextlib.contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        try:
            yield
        except sa.exc.IntegrityError as exc:
            raise StoreConflict(f"{what} refused by {self.label}: {_reason(exc)}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {what} failed on {self.label}: {_reason(exc)}") from exc

    def dispose(self) -> None:
        self.engine.dispose()
