"""Each portfolio's equity curve, bounded by thinning its older half.

A node records a point at most once per ``NodeConfig.equity_interval_s`` per
portfolio, when it saves a snapshot, so the table grows slowly; still, a
portfolio that runs for months must not grow without end. When a portfolio
holds more than ``SqlSettings.equity_points_kept`` points, every second point
older than the newest half is deleted. The recent half keeps full resolution,
older stretches get coarser the older they are, and the whole curve, back to
the first point, stays drawable: after a thinning a portfolio holds about
three quarters of the limit, and it never holds more than the limit once a
``record`` has returned.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from livecore.adapters.sql.database import Database
from livecore.adapters.sql.schema import equity
from livecore.ports.store import EpochSpan, EquityHistory, EquityPoint, StoreError

MIN_POINTS_KEPT = 4


def thinned(ids: list[int], keep_recent: int) -> list[int]:
    """The ids to delete from ``ids`` (oldest first): every second one of those
    older than the newest ``keep_recent``, the oldest kept (so the curve still
    starts where it started)."""
    older = ids[: max(0, len(ids) - keep_recent)]
    return older[1::2]


class SqlEquityHistory(EquityHistory):
    def __init__(self, db: Database) -> None:
        self._db = db
        self._kept = db.settings.equity_points_kept
        if self._kept < MIN_POINTS_KEPT:
            raise StoreError(f"equity_points_kept must be >= {MIN_POINTS_KEPT}, got {self._kept}")

    def record(self, point: EquityPoint) -> None:
        """Insert, then thin the portfolio's points if it holds more than the limit
        (one transaction: a reader never sees it over the limit)."""
        pid = point.portfolio_id
        with self._db.write() as conn:
            conn.execute(
                equity.insert().values(
                    portfolio_id=pid,
                    ts_ns=point.ts_ns,
                    epoch=point.epoch,
                    node_id=point.node_id,
                    equity=str(point.equity),
                    cash=str(point.cash),
                    realized_pnl=str(point.realized_pnl),
                    unrealized_pnl=str(point.unrealized_pnl),
                )
            )
            held = conn.execute(
                sa.select(sa.func.count()).select_from(equity).where(equity.c.portfolio_id == pid)
            ).scalar_one()
            if held <= self._kept:
                return
            ids = conn.execute(
                sa.select(equity.c.id).where(equity.c.portfolio_id == pid).order_by(equity.c.ts_ns, equity.c.id)
            )
            doomed = thinned([int(i) for i in ids.scalars()], self._kept // 2)
            for start in range(0, len(doomed), _DELETE_CHUNK):
                conn.execute(equity.delete().where(equity.c.id.in_(doomed[start : start + _DELETE_CHUNK])))

    def points(
        self, portfolio_id: str, limit: int, before_ns: int | None = None, after_ns: int | None = None
    ) -> list[EquityPoint]:
        query = (
            sa.select(equity)
            .where(equity.c.portfolio_id == portfolio_id)
            .order_by(equity.c.ts_ns.desc(), equity.c.id.desc())
            .limit(max(0, limit))
        )
        if before_ns is not None:
            query = query.where(equity.c.ts_ns < before_ns)
        if after_ns is not None:
            query = query.where(equity.c.ts_ns > after_ns)
        with self._db.read() as conn:
            rows = list(conn.execute(query))
        return [_point(row) for row in reversed(rows)]

    def epochs(self, portfolio_id: str) -> list[EpochSpan]:
        c = equity.c
        first, last = sa.func.min(c.ts_ns), sa.func.max(c.ts_ns)
        query = (
            sa.select(c.epoch, c.node_id, first, last, sa.func.count())
            .where(c.portfolio_id == portfolio_id)
            .group_by(c.epoch, c.node_id)
            .order_by(first, c.epoch)
        )
        with self._db.read() as conn:
            return [
                EpochSpan(epoch=int(e), node_id=n, first_ns=int(a), last_ns=int(b), points=int(k))
                for e, n, a, b, k in conn.execute(query)
            ]


_DELETE_CHUNK = 500  # ids per DELETE ... IN (...): well under every driver's parameter limit


def _point(row: Any) -> EquityPoint:
    return EquityPoint(
        portfolio_id=row.portfolio_id,
        ts_ns=int(row.ts_ns),
        epoch=int(row.epoch),
        node_id=row.node_id,
        equity=Decimal(row.equity),
        cash=Decimal(row.cash),
        realized_pnl=Decimal(row.realized_pnl),
        unrealized_pnl=Decimal(row.unrealized_pnl),
    )
