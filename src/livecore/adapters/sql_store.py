"""``SqlStore``: the durable-state port on SQLite or PostgreSQL, one code path.

Opening a store migrates the schema to the newest revision (``sql/migrate.py``:
creates it on a new database, idempotent, safe when several processes open at
once) and so also checks that the database answers.
"""

from __future__ import annotations

import sqlalchemy as sa

from livecore.adapters.sql.audit import SqlAuditLog
from livecore.adapters.sql.database import Database, SqlSettings
from livecore.adapters.sql.equity import SqlEquityHistory
from livecore.adapters.sql.journal import SqlJournal
from livecore.adapters.sql.migrate import upgrade
from livecore.adapters.sql.registry import SqlRegistry
from livecore.adapters.sql.snapshots import SqlSnapshotStore
from livecore.ports.store import Store

__all__ = ["SqlSettings", "SqlStore"]


class SqlStore(Store):
    """Thread-safe: every call is its own short transaction on a pooled connection."""

    snapshots: SqlSnapshotStore
    journal: SqlJournal
    registry: SqlRegistry
    audit: SqlAuditLog
    equity: SqlEquityHistory

    def __init__(self, url: str, settings: SqlSettings | None = None) -> None:
        self.url = url
        self._db = Database(url, settings or SqlSettings())
        try:
            upgrade(self._db)
            self.snapshots = SqlSnapshotStore(self._db)
            self.journal = SqlJournal(self._db)
            self.registry = SqlRegistry(self._db)
            self.audit = SqlAuditLog(self._db)
            self.equity = SqlEquityHistory(self._db)
        except Exception:
            self._db.dispose()
            raise

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    def ping(self) -> None:
        with self._db.read("ping") as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self._db.dispose()
