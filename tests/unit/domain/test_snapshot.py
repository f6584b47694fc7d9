"""Snapshot / restore: versioned, complete, epoch-aware."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import msgspec
import pytest

from livecore.domain import FeedbackResult, Portfolio, Signal, SnapshotError
from livecore.domain.snapshot import SNAPSHOT_SCHEMA
from tests.unit.domain.helpers import fill, new_orders, order_for, scripted, scripted_spec, spec, tick

D = Decimal


def test_restore_at_a_new_epoch_continues_seq_with_the_new_epoch() -> None:
    p, _ = scripted(epoch=4)
    first = order_for(p, Signal.target("AAPL", D(10)))
    assert first.client_order_id == "p1-4-1"
    q = Portfolio.restore(p.snapshot(), p.spec, 5, "n2")
    assert (q.epoch, q.node_id, q.seq) == (5, "n2", 1)
    second = order_for(q, Signal.target("MSFT", D(1)), 10, 1)
    assert second.client_order_id == "p1-5-2" and second.epoch == 5 and second.node_id == "n2"


def test_restore_refuses_other_portfolio_older_epoch_unknown_schema_and_garbage() -> None:
    p, _ = scripted(epoch=3)
    data = p.snapshot()
    with pytest.raises(SnapshotError, match="cannot restore"):
        Portfolio.restore(data, dataclasses.replace(p.spec, id="zz"), 3, "n")
    with pytest.raises(SnapshotError, match="older"):
        Portfolio.restore(data, p.spec, 2, "n")
    future = msgspec.json.decode(data)
    future["schema"] = SNAPSHOT_SCHEMA + 1
    with pytest.raises(SnapshotError, match="schema"):
        Portfolio.restore(msgspec.json.encode(future), p.spec, 3, "n")
    with pytest.raises(SnapshotError, match="undecodable"):
        Portfolio.restore(b"\x00not json", p.spec, 3, "n")
    broken = msgspec.json.decode(data)
    del broken["books"]
    with pytest.raises(SnapshotError, match="invalid"):
        Portfolio.restore(msgspec.json.encode(broken), p.spec, 3, "n")


def test_trading_switch_is_the_hosts_not_the_snapshots() -> None:
    p, _ = scripted()
    p.set_trading_enabled(False)
    assert Portfolio.restore(p.snapshot(), p.spec, 1, "n1").trading_enabled


def test_undrained_outbox_survives_a_restore() -> None:
    p, s = scripted()
    s.queue.append(Signal.target("AAPL", D(10)))
    p.on_market(tick(100))
    q = Portfolio.restore(p.snapshot(), p.spec, 1, "n1")
    assert q.drain_outbox() == p.drain_outbox() != []


def test_fill_id_window_and_closed_order_window_are_bounded() -> None:
    p, _ = scripted(scripted_spec(extra="[settings]\nfill_id_window = 3\nclosed_order_window = 2"))
    reports = []
    for i in range(5):
        order = order_for(p, Signal.target("AAPL", D(i + 1)), 100, i)
        reports.append(fill(order, price=100, fill_id=f"f{i}"))
        assert p.on_feedback(reports[-1]) is FeedbackResult.APPLIED
    state = msgspec.json.decode(p.snapshot())
    assert state["fill_ids"] == ["f2", "f3", "f4"]
    assert state["closed_order_ids"] == ["p1-1-4", "p1-1-5"]
    assert p.on_feedback(reports[4]) is FeedbackResult.DUPLICATE
    assert p.on_feedback(reports[0]) is FeedbackResult.UNKNOWN_ORDER  # forgotten: reported, not applied
    assert p.books.position_qty("AAPL") == 5


def test_changed_strategy_class_starts_with_fresh_memory() -> None:
    p = Portfolio.create(spec("ma_crossover", "fast = 2, slow = 4"), 1, "n1")
    for i in range(5):
        p.on_market(tick(100, i))  # flat prices: no cross, but a full window of memory
    assert new_orders(p) == []
    q = Portfolio.restore(p.snapshot(), spec("breakout", "lookback = 2, exit_lookback = 2"), 1, "n1")
    assert not q.faulted and q.strategy.__class__.__name__ == "Breakout"
    q.on_market(tick(200, 6))  # a breakout given the old windows would buy; fresh ones warm up
    assert new_orders(q) == []
    same = Portfolio.restore(p.snapshot(), p.spec, 1, "n1")
    assert same.strategy.state() == p.strategy.state()
