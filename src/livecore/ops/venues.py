"""The venue's account beside the portfolios' books, for ``status`` and the API.

A gateway trading on a venue writes what the venue says it holds
(``record_snapshot``); the books per asset come from the journal, recomputed
for every registered portfolio (the journal is the source of truth). The
difference, venue minus books, is what the account holds beyond what livecore
manages; the first snapshot stores it as the baseline, and a difference that
later moves off it is a **mismatch** (see ``venues/ccxt/snapshot.py`` and
docs/VENUES.md for what an operator does then). ``reset_baseline`` takes the
current difference as the new baseline, after a deposit or a withdrawal.
"""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec

from livecore.domain.spec import parse_spec
from livecore.gateway.journal_books import recompute_books
from livecore.ops.context import Ops
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.venues.ccxt.snapshot import (
    AssetLine,
    Baseline,
    VenueSnapshot,
    book_assets,
    compare,
    decode_baseline,
    decode_snapshot,
    encode_baseline,
    encode_snapshot,
    unmanaged,
)
from livecore.wire import names


class VenueAccount(msgspec.Struct, frozen=True, kw_only=True):
    """One venue: its balances beside the books, per asset, and what is wrong."""

    venue: str
    age_s: float
    assets: list[AssetLine]
    mismatch: bool
    unknown_orders: dict[str, str] = {}
    working_orders: int = 0
    streams_down: list[str] = []


class Books(msgspec.Struct, frozen=True, kw_only=True):
    """Every registered portfolio's journal books summed per asset, and each one's funding."""

    assets: dict[str, Decimal]
    funded: dict[str, tuple[str, Decimal]]


def registered_books(store: Store) -> Books:
    rows = []
    funded: dict[str, tuple[str, Decimal]] = {}
    for entry in store.registry.list():
        spec = parse_spec(entry.spec_toml, source=f"registry:{entry.portfolio_id}")
        pid = entry.portfolio_id
        books = recompute_books(
            [o.order for o in store.journal.orders(pid)],
            [f.feedback for f in store.journal.feedback(pid)],
            spec.initial_cash,
            pid,
        )
        rows.append((spec.currency, books.cash, books.positions, books.asset_fees))
        funded[pid] = (spec.currency, spec.initial_cash)
    return Books(assets=book_assets(rows), funded=funded)


def baseline_now(snapshot: VenueSnapshot, books: Books) -> Baseline:
    return Baseline(unmanaged=unmanaged(snapshot.balances, books.assets), funded=books.funded, ts_ns=snapshot.ts_ns)


def record_snapshot(coord: Coordination, store: Store, snapshot: VenueSnapshot, ttl_s: float) -> None:
    """Store ``snapshot``; the first one of a venue also sets its baseline."""
    coord.set(names.venue_snapshot_key(snapshot.venue), encode_snapshot(snapshot).decode(), ttl=ttl_s)
    key = names.venue_baseline_key(snapshot.venue)
    if coord.get(key) is None:
        coord.set(key, encode_baseline(baseline_now(snapshot, registered_books(store))).decode())


def venue_accounts(ops: Ops, now_ns: int | None = None) -> list[VenueAccount]:
    """Every venue a gateway reports on, compared with the books."""
    now = time.time_ns() if now_ns is None else now_ns
    keys = ops.coord.scan(names.VENUE_SNAPSHOT_PREFIX)
    if not keys:
        return []
    books = registered_books(ops.store)
    accounts = []
    for key in keys:
        raw = ops.coord.get(key)
        if raw is None:
            continue
        snapshot = decode_snapshot(raw.encode())
        stored = ops.coord.get(names.venue_baseline_key(snapshot.venue))
        baseline = decode_baseline(stored.encode()) if stored is not None else baseline_now(snapshot, books)
        lines = compare(snapshot.balances, books.assets, baseline.expected(books.funded))
        accounts.append(
            VenueAccount(
                venue=snapshot.venue,
                age_s=max(0.0, (now - snapshot.ts_ns) / 1e9),
                assets=lines,
                mismatch=any(line.mismatch for line in lines),
                unknown_orders=snapshot.unknown_orders,
                working_orders=snapshot.working_orders,
                streams_down=snapshot.streams_down,
            )
        )
    return accounts


def venue_problems(accounts: list[VenueAccount]) -> list[str]:
    """One line per thing an operator must look at."""
    lines = []
    for account in accounts:
        for a in account.assets:
            if a.mismatch:
                lines.append(
                    f"venue {account.venue}: {a.asset} is {a.venue} at the venue, {a.books} in the books "
                    f"(+ {a.unmanaged} unmanaged): they differ by {a.venue - a.books - a.unmanaged}"
                )
        if account.unknown_orders:
            lines.append(f"venue {account.venue}: {len(account.unknown_orders)} order(s) livecore did not send")
        if account.streams_down:
            lines.append(f"venue {account.venue}: private streams down ({', '.join(account.streams_down)}): polling")
    return lines


def reset_baseline(ops: Ops, venue: str) -> Baseline:
    """Take the current venue-minus-books difference as the baseline (after a deposit,
    a withdrawal or removing a portfolio); the new baseline. ``LookupError`` when the
    venue has no snapshot (its gateway is not running)."""
    raw = ops.coord.get(names.venue_snapshot_key(venue))
    if raw is None:
        raise LookupError(f"no snapshot of venue {venue}: is its gateway running?")
    baseline = baseline_now(decode_snapshot(raw.encode()), registered_books(ops.store))
    ops.coord.set(names.venue_baseline_key(venue), encode_baseline(baseline).decode())
    return baseline
