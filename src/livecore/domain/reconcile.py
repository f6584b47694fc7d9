"""Reconciliation with the gateway journal after a restore (or a fresh load).

The journal is the truth. For this portfolio:

1. Orders the journal has and the state holds as CREATED become SUBMITTED (the
   gateway got them); their undrained NewOrder is dropped from the outbox (a
   resend would only be de-duplicated).
2. Orders the journal has and the state does not know are *adopted* as
   SUBMITTED with their reservations, unless their seq is at or below the
   highest seq this state booked for their epoch (``EntryState.booked``): those
   were booked and only forgotten (closed and evicted from the bounded window),
   so adopting them would book them twice. Within one epoch one owner numbers
   orders in sequence, so "highest seq per epoch" is exact.
3. Orders of an older epoch that the state holds as CREATED/SUBMITTED but the
   journal does not have are resolved as rejected (``stale_epoch``), *inferred*:
   the ownership fence was advanced before this load, so the gateway will
   refuse them if they ever arrive. Should the gateway report one after all, the
   report revives it (a later fact beats an inference).
4. Every journaled report is applied in journal order; duplicates are no-ops.

Afterwards the books equal what the journal says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from livecore.domain.books import Books
from livecore.domain.feedback import FeedbackOutcome, FeedbackResult, release_all
from livecore.domain.order_book import OrderBook
from livecore.domain.order_entry import OrderEntry
from livecore.domain.orders import OrderState, booked_earlier
from livecore.wire.messages import NewOrder, OrderFeedback

STALE_EPOCH = "stale_epoch: not in the gateway journal at reconcile"


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True):
    adopted: list[str]  # journaled orders the state did not know, now held
    expired: list[str]  # older-epoch orders never journaled, resolved as rejected (inferred)
    already_booked: int  # journaled orders booked earlier and since forgotten (not booked again)
    applied: int
    duplicates: int
    unknown: int
    refused: int
    ignored: int
    problems: list[str]  # details of refused reports


def reconcile(
    portfolio_id: str,
    epoch: int,
    entry: OrderEntry,
    orders: OrderBook,
    books: Books,
    journal_orders: Sequence[NewOrder],
    journal_feedback: Sequence[OrderFeedback],
    apply: Callable[[OrderFeedback], FeedbackOutcome],
) -> ReconcileReport:
    mine = [o for o in journal_orders if o.portfolio_id == portfolio_id]
    journal_ids = {o.client_order_id for o in mine}
    adopted, already_booked = _adopt_journaled(mine, entry, orders)
    expired = _expire_unjournaled(epoch, journal_ids, orders, books)
    sent = journal_ids | set(expired)
    entry.state.outbox = [r for r in entry.state.outbox if not (isinstance(r, NewOrder) and r.client_order_id in sent)]
    counts, problems = _replay(portfolio_id, journal_feedback, apply)
    return ReconcileReport(
        adopted=adopted,
        expired=expired,
        already_booked=already_booked,
        applied=counts[FeedbackResult.APPLIED],
        duplicates=counts[FeedbackResult.DUPLICATE],
        unknown=counts[FeedbackResult.UNKNOWN_ORDER],
        refused=counts[FeedbackResult.REFUSED],
        ignored=counts[FeedbackResult.IGNORED],
        problems=problems,
    )


def _adopt_journaled(mine: Sequence[NewOrder], entry: OrderEntry, orders: OrderBook) -> tuple[list[str], int]:
    """Steps 1 and 2: the adopted order ids and how many were booked already."""
    adopted: list[str] = []
    already_booked = 0
    booked = dict(entry.state.booked)  # as before this reconcile: adoption order must not matter
    for request in mine:
        known = orders.get(request.client_order_id)
        if known is not None:
            if known.state is OrderState.CREATED:
                known.to(OrderState.SUBMITTED)
            continue
        if booked_earlier(request.client_order_id, booked):
            already_booked += 1
            continue
        entry.adopt(request)
        adopted.append(request.client_order_id)
    return adopted, already_booked


def _expire_unjournaled(epoch: int, journal_ids: set[str], orders: OrderBook, books: Books) -> list[str]:
    """Step 3: the older-epoch orders the gateway never journaled, resolved as rejected."""
    expired: list[str] = []
    for order in orders.open_orders():
        stale = order.epoch < epoch and order.client_order_id not in journal_ids
        if stale and order.state in (OrderState.CREATED, OrderState.SUBMITTED):
            order.infer_rejected(STALE_EPOCH)
            release_all(order, books)
            orders.closed(order)
            expired.append(order.client_order_id)
    return expired


def _replay(
    portfolio_id: str,
    journal_feedback: Sequence[OrderFeedback],
    apply: Callable[[OrderFeedback], FeedbackOutcome],
) -> tuple[dict[FeedbackResult, int], list[str]]:
    """Step 4: every journaled report applied in journal order; counts per result and the
    details of refused ones."""
    counts = dict.fromkeys(FeedbackResult, 0)
    problems: list[str] = []
    for fb in journal_feedback:
        if fb.portfolio_id != portfolio_id:
            continue
        outcome = apply(fb)
        counts[outcome.result] += 1
        if outcome.result is FeedbackResult.REFUSED:
            problems.append(f"{fb.client_order_id}: {outcome.detail}")
    return counts, problems
