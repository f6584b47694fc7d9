"""The portfolio registry: what should run, and where the scheduler put it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import sqlalchemy as sa

from livecore.adapters.sql.database import Database, StoreConflict
from livecore.adapters.sql.schema import registry
from livecore.ports.store import DesiredState, Registry, RegistryEntry

_DESIRED = frozenset(get_args(DesiredState))


def _check_desired(desired: str) -> None:
    if desired not in _DESIRED:
        raise ValueError(f"desired state must be one of {sorted(_DESIRED)}, got {desired!r}")


class SqlRegistry(Registry):
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(
        self, portfolio_id: str, spec_toml: str, desired: DesiredState, now_ns: int, code_version: str | None = None
    ) -> None:
        """Insert, or replace spec and desired state keeping the placement; the code
        version is replaced only when given. Update first, insert if absent; a
        concurrent insert makes us update."""
        _check_desired(desired)
        values: dict[str, object] = {"spec_toml": spec_toml, "desired": desired, "updated_ns": now_ns}
        if code_version is not None:
            values["code_version"] = code_version
        update = registry.update().where(registry.c.portfolio_id == portfolio_id).values(**values)
        try:
            with self._db.write() as conn:
                if conn.execute(update).rowcount == 0:
                    conn.execute(registry.insert().values(portfolio_id=portfolio_id, node_id=None, epoch=0, **values))
        except StoreConflict:
            with self._db.write() as conn:
                conn.execute(update)

    def get(self, portfolio_id: str) -> RegistryEntry | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(registry).where(registry.c.portfolio_id == portfolio_id)).one_or_none()
        return None if row is None else _entry(row)

    def list(self) -> list[RegistryEntry]:
        with self._db.read() as conn:
            return [_entry(row) for row in conn.execute(sa.select(registry).order_by(registry.c.portfolio_id))]

    def set_desired(self, portfolio_id: str, desired: DesiredState, now_ns: int) -> bool:
        _check_desired(desired)
        with self._db.write() as conn:
            result = conn.execute(
                registry.update()
                .where(registry.c.portfolio_id == portfolio_id)
                .values(desired=desired, updated_ns=now_ns)
            )
            return result.rowcount == 1

    def set_code_version(self, portfolio_id: str, code_version: str, now_ns: int) -> bool:
        with self._db.write() as conn:
            result = conn.execute(
                registry.update()
                .where(registry.c.portfolio_id == portfolio_id)
                .values(code_version=code_version, updated_ns=now_ns)
            )
            return result.rowcount == 1

    def set_placement(self, portfolio_id: str, node_id: str | None, epoch: int, now_ns: int) -> bool:
        """One conditional UPDATE: a lower epoch than the stored one changes nothing.
        The same epoch is accepted (e.g. clearing the node of a stopped placement)."""
        return self.set_placements([(portfolio_id, node_id, epoch)], now_ns)[0]

    def set_placements(self, placements: Sequence[tuple[str, str | None, int]], now_ns: int) -> tuple[bool, ...]:
        """The conditional UPDATEs in one transaction (one commit for a whole failover)."""
        with self._db.write() as conn:
            return tuple(
                conn.execute(
                    registry.update()
                    .where(registry.c.portfolio_id == portfolio_id, registry.c.epoch <= epoch)
                    .values(node_id=node_id, epoch=epoch, updated_ns=now_ns)
                ).rowcount
                == 1
                for portfolio_id, node_id, epoch in placements
            )

    def remove(self, portfolio_id: str) -> bool:
        with self._db.write() as conn:
            result = conn.execute(registry.delete().where(registry.c.portfolio_id == portfolio_id))
            return result.rowcount == 1


def _entry(row: Any) -> RegistryEntry:
    return RegistryEntry(
        portfolio_id=row.portfolio_id,
        spec_toml=row.spec_toml,
        desired=row.desired,
        node_id=row.node_id,
        epoch=int(row.epoch),
        updated_ns=int(row.updated_ns),
        code_version=row.code_version,
    )
