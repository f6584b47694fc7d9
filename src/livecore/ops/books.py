"""Do the portfolios' books equal what the gateway's journal says?

The journal is the source of truth (DESIGN invariant 3): recomputing cash and
positions from its fills must give exactly what each portfolio holds. One
implementation for ``livecore books check`` (separate-process clusters),
``livecore run``'s final report and the end-to-end tests.

Two sources of "what the portfolio holds": its latest durable snapshot or the
live view its node publishes in the coordination store every heartbeat.

A journaled fill the snapshot does not hold is either **in flight** or
**lost**. The node had until the snapshot was taken to apply it: a fill
journaled less than ``settle`` before the snapshot (or after it) may still be
on its way, or applied but not saved yet; one journaled ``settle`` or more
before the snapshot should be in it, and is lost. A fill's time is its
``ts_ns`` (the gateway stamps a paper fill with its market event's time, which
the feed stamps with the wall clock; under an event-time replay use a settle
time longer than the data's span, or check after a graceful stop).

Status of one portfolio: ``MISMATCH`` if a fill is lost, or if the snapshot,
reconciled with the journal as its next owner would load it, still differs
from the journal's recomputation (a fill applied twice, a wrong amount);
``IN_FLIGHT`` if only fills in flight are missing; ``OK`` otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import msgspec

from livecore.domain.orders import booked_earlier
from livecore.domain.portfolio import Portfolio
from livecore.domain.snapshot import PortfolioState, decode_state
from livecore.domain.spec import parse_spec
from livecore.gateway.journal_books import JournalBooks, recompute_books
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.wire import names
from livecore.wire.messages import NewOrder, OrderFeedback

BooksStatus = Literal["OK", "IN_FLIGHT", "MISMATCH"]
OK: BooksStatus = "OK"
IN_FLIGHT: BooksStatus = "IN_FLIGHT"
MISMATCH: BooksStatus = "MISMATCH"
DEFAULT_SETTLE_S = 30.0
_NS = 1_000_000_000


class BooksCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One portfolio: its cash balance and positions next to the journal's.

    ``cash`` and ``positions`` are the portfolio as its next owner would load it
    (snapshot reconciled with the journal); ``snapshot_cash`` and
    ``snapshot_positions`` the snapshot alone. ``cash`` is the balance:
    available plus reserved. A reservation only earmarks cash for an order not
    yet filled, and an order still on its way to the gateway holds one that the
    journal cannot know about yet."""

    portfolio_id: str
    source: str  # "snapshot", "view" or "none" (never traded, nothing stored)
    cash: Decimal
    journal_cash: Decimal
    positions: dict[str, Decimal]
    journal_positions: dict[str, Decimal]
    journal_fills: int
    matches: bool
    in_flight_fills: int = 0  # journaled fills the snapshot did not hold yet (applied by reconcile)
    status: BooksStatus = OK
    snapshot_cash: Decimal | None = None
    snapshot_positions: dict[str, Decimal] = {}
    snapshot_taken_ns: int | None = None
    in_flight_fill_ids: list[str] = []
    lost_fill_ids: list[str] = []
    asset_fees: dict[str, Decimal] = {}  # commissions in a third asset (domain/fees.py)
    journal_asset_fees: dict[str, Decimal] = {}


def _nonzero(positions: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {symbol: qty for symbol, qty in sorted(positions.items()) if qty != 0}


def compare(
    portfolio_id: str,
    source: str,
    cash: Decimal,
    positions: Mapping[str, Decimal],
    books: JournalBooks,
    in_flight_fills: int = 0,
    asset_fees: Mapping[str, Decimal] | None = None,
) -> BooksCheck:
    """Exact comparison (Decimal equality: 1.50 == 1.5)."""
    held = _nonzero(positions)
    journal = _nonzero(books.positions)
    fees, journal_fees = _nonzero(asset_fees or {}), _nonzero(books.asset_fees)
    matches = cash == books.cash and held == journal and fees == journal_fees
    return BooksCheck(
        portfolio_id=portfolio_id,
        source=source,
        cash=cash,
        journal_cash=books.cash,
        positions=held,
        journal_positions=journal,
        journal_fills=books.fills,
        matches=matches,
        in_flight_fills=in_flight_fills,
        status=OK if matches else MISMATCH,
        asset_fees=fees,
        journal_asset_fees=journal_fees,
    )


def missing_fills(feedback: Sequence[OrderFeedback], state: PortfolioState | None) -> list[OrderFeedback]:
    """Journaled fills (in journal order) the snapshot ``state`` does not hold (all of
    them without a snapshot). A snapshot holds a fill when the order it holds lists
    the fill's id, or when it booked the order and has forgotten it since: a closed
    order, every fill of which it applied (fills are de-duplicated by order state)."""
    fills = [fb for fb in feedback if fb.fill_id is not None]
    if state is None:
        return fills
    orders = {order.client_order_id: order for order in state.orders}
    booked = dict(state.booked)

    def held(fb: OrderFeedback) -> bool:
        order = orders.get(fb.client_order_id)
        if order is None:
            return booked_earlier(fb.client_order_id, booked)
        return fb.fill_id in order.fill_ids

    return [fb for fb in fills if not held(fb)]


def split_missing(missing: Sequence[OrderFeedback], reference_ns: int, settle_ns: int) -> tuple[list[str], list[str]]:
    """(in flight, lost) fill ids: lost when journaled ``settle_ns`` or more before
    ``reference_ns`` (the snapshot's time, or now when there is no snapshot)."""
    in_flight: list[str] = []
    lost: list[str] = []
    for fb in missing:
        assert fb.fill_id is not None
        (lost if reference_ns - fb.ts_ns >= settle_ns else in_flight).append(fb.fill_id)
    return in_flight, lost


def status_of(matches: bool, in_flight: Sequence[str], lost: Sequence[str]) -> BooksStatus:
    if lost or not matches:
        return MISMATCH
    return IN_FLIGHT if in_flight else OK


def _journal(store: Store, portfolio_id: str) -> tuple[list[NewOrder], list[OrderFeedback]]:
    orders = [o.order for o in store.journal.orders(portfolio_id)]
    feedback = [f.feedback for f in store.journal.feedback(portfolio_id)]
    return orders, feedback


def _journal_books(store: Store, portfolio_id: str, initial_cash: Decimal) -> JournalBooks:
    orders, feedback = _journal(store, portfolio_id)
    return recompute_books(orders, feedback, initial_cash, portfolio_id)


def check_snapshots(store: Store, settle_s: float = DEFAULT_SETTLE_S, now_ns: int | None = None) -> list[BooksCheck]:
    """Every registered portfolio: its latest snapshot, alone and as its next owner
    would load it (reconciled with the journal), against a recomputation from the
    journal; missing fills classified as in flight or lost (see the module doc).
    ``now_ns`` (wall clock) is the reference for a portfolio that has no snapshot."""

    now = time.time_ns() if now_ns is None else now_ns
    return [
        _check_snapshot(store, entry.portfolio_id, entry.spec_toml, int(settle_s * _NS), now)
        for entry in store.registry.list()
    ]


def _check_snapshot(store: Store, pid: str, spec_toml: str, settle_ns: int, now_ns: int) -> BooksCheck:
    spec = parse_spec(spec_toml, source=f"registry:{pid}")
    orders, feedback = _journal(store, pid)
    books = recompute_books(orders, feedback, spec.initial_cash, pid)
    snapshot = store.snapshots.latest(pid)
    if snapshot is None:
        in_flight, lost = split_missing(missing_fills(feedback, None), now_ns, settle_ns)
        check = compare(pid, "none", spec.initial_cash, {}, books)
        return msgspec.structs.replace(
            check,
            status=status_of(check.matches, in_flight, lost),
            in_flight_fill_ids=in_flight,
            lost_fill_ids=lost,
        )
    portfolio = Portfolio.restore(snapshot.data, spec, snapshot.epoch, "books-check")
    before = portfolio.view()
    report = portfolio.reconcile(orders, feedback)
    view = portfolio.view()
    positions = {symbol: p.quantity for symbol, p in view.positions.items()}
    check = compare(pid, "snapshot", view.cash + view.reserved, positions, books, report.applied, view.asset_fees)
    missing = missing_fills(feedback, decode_state(snapshot.data))
    in_flight, lost = split_missing(missing, snapshot.taken_ns, settle_ns)
    return msgspec.structs.replace(
        check,
        status=status_of(check.matches, in_flight, lost),
        snapshot_cash=before.cash + before.reserved,
        snapshot_positions=_nonzero({symbol: p.quantity for symbol, p in before.positions.items()}),
        snapshot_taken_ns=snapshot.taken_ns,
        in_flight_fill_ids=in_flight,
        lost_fill_ids=lost,
    )


def check_views(store: Store, coord: Coordination, portfolio_ids: list[str] | None = None) -> list[BooksCheck]:
    """The live views the nodes publish against the journal (portfolios without a
    live view are left out: they are not hosted right now)."""
    checks = []
    for entry in store.registry.list():
        if portfolio_ids is not None and entry.portfolio_id not in portfolio_ids:
            continue
        raw = coord.get(names.portfolio_view_key(entry.portfolio_id))
        if raw is None:
            continue
        view: dict[str, Any] = msgspec.json.decode(raw)
        spec = parse_spec(entry.spec_toml, source=f"registry:{entry.portfolio_id}")
        books = _journal_books(store, entry.portfolio_id, spec.initial_cash)
        positions = {symbol: Decimal(p["quantity"]) for symbol, p in view.get("positions", {}).items()}
        balance = Decimal(view["cash"]) + Decimal(view["reserved"])
        fees = {asset: Decimal(amount) for asset, amount in view.get("asset_fees", {}).items()}
        checks.append(compare(entry.portfolio_id, "view", balance, positions, books, asset_fees=fees))
    return checks
