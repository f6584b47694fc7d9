"""The books check agrees with the journal when everything was applied once, also
with an order still on its way to the gateway, and catches a fill booked twice or
lost; a fill missing from the snapshot is in flight or lost by its age."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from livecore.adapters.sql_store import SqlStore
from livecore.domain.portfolio import Portfolio
from livecore.domain.snapshot import decode_state
from livecore.domain.spec import parse_spec
from livecore.ops.books import IN_FLIGHT, MISMATCH, OK, check_snapshots, missing_fills, split_missing, status_of
from livecore.testing.strategies import spec_toml
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side, Tick

PID = "bc"


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{tmp_path / 'books.db'}")
    store.registry.upsert(PID, spec_toml(PID, ["AAA"], params="quantity = 10", cash=10_000), "running", 1)
    return store


def _portfolio(store: SqlStore) -> tuple[Portfolio, NewOrder]:
    entry = store.registry.get(PID)
    assert entry is not None
    portfolio = Portfolio.create(parse_spec(entry.spec_toml), epoch=1, node_id="n1")
    portfolio.on_market(Tick(symbol="AAA", ts_ns=1, price=Decimal("100")))
    (order,) = portfolio.drain_outbox()
    assert isinstance(order, NewOrder)
    portfolio.mark_submitted(order.client_order_id)
    return portfolio, order


def _fill(order: NewOrder, fill_id: str = "f1", ts_ns: int = 2) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=order.client_order_id,
        portfolio_id=PID,
        epoch=order.epoch,
        symbol=order.symbol,
        side=order.side,
        fill_id=fill_id,
        fill_qty=order.quantity,
        fill_price=Decimal("100.5"),
        cumulative_qty=order.quantity,
        commission=Decimal("1.25"),
        ts_ns=ts_ns,
    )


def _save(store: SqlStore, portfolio: Portfolio, taken_ns: int = 3) -> None:
    store.snapshots.save(PID, portfolio.epoch, portfolio.snapshot(), taken_ns)


def test_applied_fill_matches_exactly(store: SqlStore) -> None:
    portfolio, order = _portfolio(store)
    fill = _fill(order)
    store.journal.record_order(order, 1)
    store.journal.record_feedback(fill)
    portfolio.on_feedback(fill)
    _save(store, portfolio)
    (check,) = check_snapshots(store)
    assert check.matches and check.in_flight_fills == 0 and check.status == OK
    assert check.journal_cash == Decimal("10000") - Decimal("1005") - Decimal("1.25")
    assert check.positions == {"AAA": Decimal(10)}


def test_order_not_yet_at_the_gateway_is_cash_reserved_not_a_mismatch(store: SqlStore) -> None:
    portfolio, _ = _portfolio(store)
    _save(store, portfolio)
    (check,) = check_snapshots(store)
    assert check.matches and check.cash == Decimal(10_000)


def test_fill_in_flight_at_stop_is_applied_like_the_next_load(store: SqlStore) -> None:
    portfolio, order = _portfolio(store)
    _save(store, portfolio)  # the node stopped before the fill reached it
    store.journal.record_order(order, 1)
    store.journal.record_feedback(_fill(order))
    (check,) = check_snapshots(store)
    assert check.matches and check.in_flight_fills == 1
    assert (check.status, check.in_flight_fill_ids, check.lost_fill_ids) == (IN_FLIGHT, ["f1"], [])
    assert check.snapshot_cash == Decimal(10_000) and check.snapshot_positions == {}


def test_fill_booked_twice_under_two_ids_is_caught(store: SqlStore) -> None:
    portfolio, order = _portfolio(store)
    half = msgspec.structs.replace(_fill(order), status=FeedbackStatus.PARTIALLY_FILLED, fill_qty=Decimal(5))
    store.journal.record_order(order, 1)
    store.journal.record_feedback(half)
    portfolio.on_feedback(half)
    portfolio.on_feedback(msgspec.structs.replace(half, fill_id="f1-again"))  # the same fill under another id
    _save(store, portfolio)
    (check,) = check_snapshots(store)
    assert not check.matches and check.status == MISMATCH
    assert check.positions == {"AAA": Decimal(10)} and check.journal_positions == {"AAA": Decimal(5)}


SECOND = 1_000_000_000


def test_fill_journaled_long_before_the_snapshot_yet_absent_is_lost(store: SqlStore) -> None:
    portfolio, order = _portfolio(store)
    store.journal.record_order(order, 1)
    store.journal.record_feedback(_fill(order, ts_ns=100 * SECOND))
    _save(store, portfolio, taken_ns=131 * SECOND)  # 31 s later, and the fill is not in it
    (check,) = check_snapshots(store, settle_s=30.0)
    assert check.matches  # the next owner's reconcile would repair the books ...
    assert (check.status, check.lost_fill_ids, check.in_flight_fill_ids) == (MISMATCH, ["f1"], [])  # ... but it is lost
    assert check.snapshot_cash == Decimal(10_000) and check.journal_cash == Decimal("8993.75")
    (patient,) = check_snapshots(store, settle_s=60.0)
    assert (patient.status, patient.in_flight_fill_ids) == (IN_FLIGHT, ["f1"])


def test_without_a_snapshot_age_is_measured_from_now(store: SqlStore) -> None:
    _, order = _portfolio(store)
    fill = _fill(order, ts_ns=100 * SECOND)
    assert split_missing([fill], 129 * SECOND, 30 * SECOND) == (["f1"], [])
    assert split_missing([fill], 130 * SECOND, 30 * SECOND) == ([], ["f1"])
    assert split_missing([fill], 90 * SECOND, 30 * SECOND) == (["f1"], [])  # journaled after the snapshot


def test_missing_fills_are_told_by_order_state() -> None:
    """Held: a fill the snapshot's order lists, or any fill of an order it booked and
    has forgotten since (closed: all its fills applied). Missing: the rest."""
    orders = [NewOrder(client_order_id=f"bc-1-{i}", portfolio_id=PID, epoch=1, node_id="n1", symbol="AAA",
                       side=Side.BUY, quantity=Decimal(2), created_ns=1) for i in (1, 2, 3)]  # fmt: skip
    p = Portfolio.create(parse_spec(spec_toml(PID, ["AAA"], cash=10_000), source="t"), 1, "n1")
    assert p.reconcile(orders[:2], []).adopted == ["bc-1-1", "bc-1-2"]
    state = decode_state(p.snapshot())
    state.orders = state.orders[1:]  # bc-1-1 closed and forgotten since
    half = [msgspec.structs.replace(_fill(o, f"f{i}"), fill_qty=Decimal(1)) for i, o in enumerate(orders)]
    state.orders[0].fill_ids = ["f1"]
    accepted = msgspec.structs.replace(half[0], status=FeedbackStatus.ACCEPTED, fill_id=None)
    late = msgspec.structs.replace(half[1], fill_id="f1b")
    missing = missing_fills([accepted, *half, late], state)
    assert [f.fill_id for f in missing] == ["f2", "f1b"]  # bc-1-3: never booked; f1b: not listed
    assert [f.fill_id for f in missing_fills(half, None)] == ["f0", "f1", "f2"]


def test_status_of() -> None:
    assert status_of(True, [], []) == OK
    assert status_of(True, ["f1"], []) == IN_FLIGHT
    assert status_of(True, ["f1"], ["f2"]) == MISMATCH
    assert status_of(False, [], []) == MISMATCH
