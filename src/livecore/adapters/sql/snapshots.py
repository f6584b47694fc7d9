"""Portfolio snapshots: numbered versions, only the newest few kept."""

from __future__ import annotations

import sqlalchemy as sa

from livecore.adapters.sql.database import Database, StoreConflict
from livecore.adapters.sql.schema import snapshots
from livecore.ports.store import SnapshotStore, StoredSnapshot, StoreError


class SqlSnapshotStore(SnapshotStore):
    def __init__(self, db: Database) -> None:
        self._db = db
        self._keep = db.settings.snapshot_versions_kept
        if self._keep < 1:
            raise StoreError(f"snapshot_versions_kept must be >= 1, got {self._keep}")

    def save(self, portfolio_id: str, epoch: int, data: bytes, taken_ns: int) -> int:
        """Insert version max+1 and prune old ones in one transaction. Two
        concurrent saves may pick the same number: the unique constraint refuses
        one, which then retries with the next number."""
        last: StoreConflict | None = None
        for _ in range(self._db.settings.conflict_retries):
            try:
                return self._save_once(portfolio_id, epoch, data, taken_ns)
            except StoreConflict as exc:
                last = exc
        raise StoreError(f"snapshot of {portfolio_id!r} kept colliding with concurrent saves: {last}")

    def _save_once(self, portfolio_id: str, epoch: int, data: bytes, taken_ns: int) -> int:
        with self._db.write() as conn:
            newest = conn.execute(
                sa.select(sa.func.max(snapshots.c.version)).where(snapshots.c.portfolio_id == portfolio_id)
            ).scalar_one_or_none()
            version = (newest or 0) + 1
            conn.execute(
                snapshots.insert().values(
                    portfolio_id=portfolio_id, version=version, epoch=epoch, taken_ns=taken_ns, data=data
                )
            )
            conn.execute(
                snapshots.delete().where(
                    snapshots.c.portfolio_id == portfolio_id, snapshots.c.version <= version - self._keep
                )
            )
            return version

    def latest(self, portfolio_id: str) -> StoredSnapshot | None:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(snapshots)
                .where(snapshots.c.portfolio_id == portfolio_id)
                .order_by(snapshots.c.version.desc())
                .limit(1)
            ).one_or_none()
        return None if row is None else _stored(row)

    def get(self, portfolio_id: str, version: int) -> StoredSnapshot | None:
        """One kept version (an operator rolling back to an earlier state)."""
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(snapshots).where(snapshots.c.portfolio_id == portfolio_id, snapshots.c.version == version)
            ).one_or_none()
        return None if row is None else _stored(row)

    def versions(self, portfolio_id: str) -> list[int]:
        """The kept versions of ``portfolio_id``, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(snapshots.c.version)
                .where(snapshots.c.portfolio_id == portfolio_id)
                .order_by(snapshots.c.version)
            )
            return [int(v) for v in rows.scalars()]


def _stored(row: sa.Row[tuple[object, ...]]) -> StoredSnapshot:
    return StoredSnapshot(
        portfolio_id=row.portfolio_id,
        epoch=int(row.epoch),
        version=int(row.version),
        data=bytes(row.data),
        taken_ns=int(row.taken_ns),
    )
