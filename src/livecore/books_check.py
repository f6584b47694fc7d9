"""Do the portfolios' books equal what the gateway's journal says?

The journal is the source of truth (DESIGN invariant 3): recomputing cash and
positions from its fills must give exactly what each portfolio holds. Used by
``livecore run``'s final report and by the end-to-end tests.

Two sources of "what the portfolio holds": its latest durable snapshot (after
a graceful stop every applied fill is in it) or the live view its node
publishes in the coordination store every heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from livecore.domain.portfolio import Portfolio
from livecore.domain.spec import parse_spec
from livecore.gateway.reconcile import Books, recompute_books
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.wire import names
from livecore.wire.messages import NewOrder, OrderFeedback


class BooksCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One portfolio: its cash balance and positions next to the journal's.

    ``cash`` is the balance: available plus reserved. A reservation only earmarks
    cash for an order not yet filled, and an order still on its way to the
    gateway holds one that the journal cannot know about yet."""

    portfolio_id: str
    source: str  # "snapshot", "view" or "none" (never traded, nothing stored)
    cash: Decimal
    journal_cash: Decimal
    positions: dict[str, Decimal]
    journal_positions: dict[str, Decimal]
    journal_fills: int
    matches: bool
    in_flight_fills: int = 0  # journaled fills the snapshot did not hold yet (applied by reconcile)


def _nonzero(positions: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {symbol: qty for symbol, qty in sorted(positions.items()) if qty != 0}


def compare(
    portfolio_id: str,
    source: str,
    cash: Decimal,
    positions: Mapping[str, Decimal],
    books: Books,
    in_flight_fills: int = 0,
) -> BooksCheck:
    """Exact comparison (Decimal equality: 1.50 == 1.5)."""
    held = _nonzero(positions)
    journal = _nonzero(books.positions)
    return BooksCheck(
        portfolio_id=portfolio_id,
        source=source,
        cash=cash,
        journal_cash=books.cash,
        positions=held,
        journal_positions=journal,
        journal_fills=books.fills,
        matches=cash == books.cash and held == journal,
        in_flight_fills=in_flight_fills,
    )


def _journal(store: Store, portfolio_id: str) -> tuple[list[NewOrder], list[OrderFeedback]]:
    orders = [o.order for o in store.journal.orders(portfolio_id)]
    feedback = [f.feedback for f in store.journal.feedback(portfolio_id)]
    return orders, feedback


def _journal_books(store: Store, portfolio_id: str, initial_cash: Decimal) -> Books:
    orders, feedback = _journal(store, portfolio_id)
    return recompute_books(orders, feedback, initial_cash, portfolio_id)


def check_snapshots(store: Store) -> list[BooksCheck]:
    """Every registered portfolio as its next owner would load it (latest snapshot,
    then reconciled with the journal) against a recomputation from the journal.

    Fills that reached the journal after the last snapshot (in flight when the
    node stopped or died) are applied by the reconcile and counted; a fill applied
    twice or lost shows as a mismatch."""
    checks = []
    for entry in store.registry.list():
        pid = entry.portfolio_id
        spec = parse_spec(entry.spec_toml, source=f"registry:{pid}")
        orders, feedback = _journal(store, pid)
        books = recompute_books(orders, feedback, spec.initial_cash, pid)
        snapshot = store.snapshots.latest(pid)
        if snapshot is None:
            checks.append(compare(pid, "none", spec.initial_cash, {}, books))
            continue
        portfolio = Portfolio.restore(snapshot.data, spec, snapshot.epoch, "books-check")
        report = portfolio.reconcile(orders, feedback)
        view = portfolio.view()
        positions = {symbol: p.quantity for symbol, p in view.positions.items()}
        checks.append(compare(pid, "snapshot", view.cash + view.reserved, positions, books, report.applied))
    return checks


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
        checks.append(compare(entry.portfolio_id, "view", balance, positions, books))
    return checks
