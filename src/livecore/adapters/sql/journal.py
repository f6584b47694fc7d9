"""The gateway journal: every order once, every outcome in a global sequence.

Each message is kept as its codec JSON (decimals exact); the indexed columns
beside it serve the queries and the uniqueness rules: one row per client order
id, one row per fill id. A resent fill is answered from the row already there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa

from livecore.adapters.sql.database import Database, StoreConflict
from livecore.adapters.sql.schema import FEEDBACK_LOCK, journal_feedback, journal_orders
from livecore.ports.store import Journal, JournalFeedback, JournalOrder, OrderRecord, Page, StoreError
from livecore.wire import codec
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback

FINAL_STATUSES = (FeedbackStatus.REJECTED, FeedbackStatus.FILLED, FeedbackStatus.CANCELLED)
FILL_STATUSES = (FeedbackStatus.PARTIALLY_FILLED, FeedbackStatus.FILLED)

_new_orders = msgspec.json.Decoder(NewOrder)


class SqlJournal(Journal):
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- orders --------------------------------------------------------------

    def record_order(self, order: NewOrder, received_ns: int) -> bool:
        try:
            with self._db.write() as conn:
                conn.execute(
                    journal_orders.insert().values(
                        client_order_id=order.client_order_id,
                        portfolio_id=order.portfolio_id,
                        epoch=order.epoch,
                        received_ns=received_ns,
                        body=codec.encode(order).decode(),
                    )
                )
        except StoreConflict:
            if self.get_order(order.client_order_id) is not None:
                return False
            raise
        return True

    def get_order(self, client_order_id: str) -> JournalOrder | None:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(journal_orders).where(journal_orders.c.client_order_id == client_order_id)
            ).one_or_none()
        return None if row is None else _order(row)

    def orders(self, portfolio_id: str | None = None) -> list[JournalOrder]:
        query = sa.select(journal_orders).order_by(journal_orders.c.id)
        if portfolio_id is not None:
            query = query.where(journal_orders.c.portfolio_id == portfolio_id)
        with self._db.read() as conn:
            return [_order(row) for row in conn.execute(query)]

    def open_orders(self) -> list[JournalOrder]:
        """Orders without a final outcome (rejected, filled, cancelled) yet,
        including those received but never answered, in receive order."""
        final = (
            sa.select(journal_feedback.c.seq)
            .where(
                journal_feedback.c.client_order_id == journal_orders.c.client_order_id,
                journal_feedback.c.status.in_([s.value for s in FINAL_STATUSES]),
            )
            .exists()
        )
        query = sa.select(journal_orders).where(~final).order_by(journal_orders.c.id)
        with self._db.read() as conn:
            return [_order(row) for row in conn.execute(query)]

    def orders_page(self, portfolio_id: str, limit: int, before: int | None = None) -> Page[OrderRecord]:
        """Newest first by receive order; ``before`` is a row id. Each order's status
        and filled quantity come from its outcomes, read in one more query."""
        query = (
            sa.select(journal_orders)
            .where(journal_orders.c.portfolio_id == portfolio_id)
            .order_by(journal_orders.c.id.desc())
            .limit(max(0, limit) + 1)
        )
        if before is not None:
            query = query.where(journal_orders.c.id < before)
        with self._db.read() as conn:
            rows = list(conn.execute(query))
            more = len(rows) > limit
            rows = rows[:limit]
            outcomes = self._outcomes(conn, [row.client_order_id for row in rows])
        records = []
        for row in rows:
            journaled = _order(row)
            status, filled = outcomes.get(row.client_order_id, (None, Decimal(0)))
            records.append(OrderRecord(journaled.order, journaled.received_ns, status, filled))
        return Page(records, int(rows[-1].id) if more and rows else None)

    def _outcomes(self, conn: sa.Connection, coids: list[str]) -> dict[str, tuple[str, Decimal]]:
        """{client order id: (latest status, sum of fills)} of these orders."""
        if not coids:
            return {}
        query = (
            sa.select(journal_feedback.c.seq, journal_feedback.c.body)
            .where(journal_feedback.c.client_order_id.in_(coids))
            .order_by(journal_feedback.c.seq)
        )
        out: dict[str, tuple[str, Decimal]] = {}
        for row in conn.execute(query):
            fb = _feedback(row).feedback
            _, filled = out.get(fb.client_order_id, ("", Decimal(0)))
            if fb.fill_qty is not None:
                filled += fb.fill_qty
            out[fb.client_order_id] = (fb.status.value, filled)
        return out

    # --- feedback ------------------------------------------------------------

    def record_feedback(self, feedback: OrderFeedback) -> JournalFeedback:
        """Append ``feedback``; a fill id already journaled is answered with the
        existing entry. The unique fill id column settles concurrent writers."""
        fill_id = feedback.fill_id
        if fill_id is not None:
            existing = self._by_fill_id(fill_id)
            if existing is not None:
                return existing
        try:
            with self._db.write() as conn:
                # Seq order must equal commit order, or a reader polling after_seq
                # could skip a row that commits late (PostgreSQL sequences do not
                # wait for commits; SQLite's single writer already serializes).
                self._db.lock(conn, FEEDBACK_LOCK)
                result = conn.execute(
                    journal_feedback.insert().values(
                        client_order_id=feedback.client_order_id,
                        portfolio_id=feedback.portfolio_id,
                        status=feedback.status.value,
                        fill_id=fill_id,
                        body=codec.encode(feedback).decode(),
                    )
                )
                key = result.inserted_primary_key
                if key is None:
                    raise StoreError("the database did not return the new feedback seq")
                seq = int(key[0])
        except StoreConflict:
            if fill_id is not None:
                existing = self._by_fill_id(fill_id)
                if existing is not None:
                    return existing
            raise
        return JournalFeedback(seq=seq, feedback=feedback)

    def feedback_for_order(self, client_order_id: str) -> list[JournalFeedback]:
        query = (
            sa.select(journal_feedback.c.seq, journal_feedback.c.body)
            .where(journal_feedback.c.client_order_id == client_order_id)
            .order_by(journal_feedback.c.seq)
        )
        with self._db.read() as conn:
            return [_feedback(row) for row in conn.execute(query)]

    def feedback(self, portfolio_id: str | None = None, after_seq: int = 0) -> list[JournalFeedback]:
        query = (
            sa.select(journal_feedback.c.seq, journal_feedback.c.body)
            .where(journal_feedback.c.seq > after_seq)
            .order_by(journal_feedback.c.seq)
        )
        if portfolio_id is not None:
            query = query.where(journal_feedback.c.portfolio_id == portfolio_id)
        with self._db.read() as conn:
            return [_feedback(row) for row in conn.execute(query)]

    def feedback_page(
        self, portfolio_id: str, limit: int, before: int | None = None, fills_only: bool = False
    ) -> Page[JournalFeedback]:
        query = (
            sa.select(journal_feedback.c.seq, journal_feedback.c.body)
            .where(journal_feedback.c.portfolio_id == portfolio_id)
            .order_by(journal_feedback.c.seq.desc())
            .limit(max(0, limit) + 1)
        )
        if before is not None:
            query = query.where(journal_feedback.c.seq < before)
        if fills_only:
            query = query.where(journal_feedback.c.status.in_([s.value for s in FILL_STATUSES]))
        with self._db.read() as conn:
            rows = list(conn.execute(query))
        entries = [_feedback(row) for row in rows[:limit]]
        return Page(entries, entries[-1].seq if len(rows) > limit and entries else None)

    def _by_fill_id(self, fill_id: str) -> JournalFeedback | None:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(journal_feedback.c.seq, journal_feedback.c.body).where(journal_feedback.c.fill_id == fill_id)
            ).one_or_none()
        return None if row is None else _feedback(row)


def _order(row: Any) -> JournalOrder:
    try:
        order = _new_orders.decode(row.body)
    except msgspec.DecodeError as exc:
        raise StoreError(f"journal order {row.client_order_id!r} is unreadable: {exc}") from None
    return JournalOrder(order=order, received_ns=int(row.received_ns))


def _feedback(row: Any) -> JournalFeedback:
    try:
        feedback = codec.order_feedback.decode(row.body.encode())
    except codec.MalformedMessage as exc:
        raise StoreError(f"journal feedback seq {row.seq} is unreadable: {exc.reason}") from None
    return JournalFeedback(seq=int(row.seq), feedback=feedback)
