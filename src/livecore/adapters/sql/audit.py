"""The audit log: append-only rows with a JSON detail."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from livecore.adapters.sql.database import Database
from livecore.adapters.sql.schema import audit
from livecore.ports.store import AuditEntry, AuditLog

# Decimals as strings, like the wire codec: no float ever touches a money value.
_encoder = msgspec.json.Encoder(decimal_format="string")


class SqlAuditLog(AuditLog):
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, component: str, event: str, detail: dict[str, Any], ts_ns: int) -> None:
        body = _encoder.encode(detail).decode()
        with self._db.write() as conn:
            conn.execute(audit.insert().values(ts_ns=ts_ns, component=component, event=event, detail=body))

    def recent(self, limit: int = 100, event: str | None = None) -> list[AuditEntry]:
        query = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
        if event is not None:
            query = query.where(audit.c.event == event)
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
