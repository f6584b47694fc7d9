"""The books check agrees with the journal when everything was applied once, also
with an order still on its way to the gateway, and catches a fill booked twice or lost."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from livecore.adapters.sql_store import SqlStore
from livecore.books_check import check_snapshots
from livecore.domain.portfolio import Portfolio
from livecore.domain.spec import parse_spec
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Tick
from tests.unit.node.strategies import spec_toml

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


def _fill(order: NewOrder, fill_id: str = "f1") -> OrderFeedback:
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
        ts_ns=2,
    )


def _save(store: SqlStore, portfolio: Portfolio) -> None:
    store.snapshots.save(PID, portfolio.epoch, portfolio.snapshot(), 3)


def test_applied_fill_matches_exactly(store: SqlStore) -> None:
    portfolio, order = _portfolio(store)
    fill = _fill(order)
    store.journal.record_order(order, 1)
    store.journal.record_feedback(fill)
    portfolio.on_feedback(fill)
    _save(store, portfolio)
    (check,) = check_snapshots(store)
    assert check.matches and check.in_flight_fills == 0
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


def test_fill_booked_twice_under_two_ids_is_caught(store: SqlStore) -> None:
    portfolio, order = _portfolio(store)
    half = msgspec.structs.replace(_fill(order), status=FeedbackStatus.PARTIALLY_FILLED, fill_qty=Decimal(5))
    store.journal.record_order(order, 1)
    store.journal.record_feedback(half)
    portfolio.on_feedback(half)
    portfolio.on_feedback(msgspec.structs.replace(half, fill_id="f1-again"))  # the same fill under another id
    _save(store, portfolio)
    (check,) = check_snapshots(store)
    assert not check.matches
    assert check.positions == {"AAA": Decimal(10)} and check.journal_positions == {"AAA": Decimal(5)}
