"""The audit log: append-only rows with a JSON detail."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec
import sqlalchemy as sa

from livecore.adapters.sql.database import Database
from livecore.adapters.sql.schema import audit
from livecore.ports.store import AuditEntry, AuditLog

# Decimals as strings, like the wire codec: no float ever touches a money value.
_encoder = msgspec.json.Encoder(decimal_format="string")

PORTFOLIO_KEY = "portfolio_id"  # the detail key that names the portfolio an entry is about


class SqlAuditLog(AuditLog):
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, component: str, event: str, detail: dict[str, Any], ts_ns: int) -> None:
        body = _encoder.encode(detail).decode()
        with self._db.write() as conn:
            conn.execute(audit.insert().values(ts_ns=ts_ns, component=component, event=event, detail=body))

    def recent(
        self,
        limit: int = 100,
        event: str | Collection[str] | None = None,
        before: int | None = None,
        portfolio_id: str | None = None,
    ) -> list[AuditEntry]:
        """``portfolio_id`` matches the detail's ``portfolio_id`` key as the encoder
        wrote it (compact JSON): an exact, case-sensitive substring test (LIKE is
        case-blind on SQLite), so it scans the table."""
        query = sa.select(audit).order_by(audit.c.id.desc()).limit(max(0, limit))
        if isinstance(event, str):
            query = query.where(audit.c.event == event)
        elif event is not None:
            query = query.where(audit.c.event.in_(sorted(event)))
        if before is not None:
            query = query.where(audit.c.id < before)
        if portfolio_id is not None:
            needle = _encoder.encode({PORTFOLIO_KEY: portfolio_id}).decode()[1:-1]  # "portfolio_id":"<id>"
            find = sa.func.instr if self._db.dialect == "sqlite" else sa.func.strpos
            query = query.where(find(audit.c.detail, needle) > 0)
        with self._db.read() as conn:
            return [
                AuditEntry(
                    id=int(row.id),
                    ts_ns=int(row.ts_ns),
                    component=row.component,
                    event=row.event,
                    detail=msgspec.json.decode(row.detail),
                )
                for row in conn.execute(query)
            ]
