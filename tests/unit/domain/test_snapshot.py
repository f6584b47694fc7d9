"""Snapshot / restore: versioned, complete, epoch-aware."""

from __future__ import annotations

import dataclasses
import zlib
from decimal import Decimal

import msgspec
import pytest

from livecore.domain import FeedbackResult, Portfolio, Signal, SnapshotError
from livecore.domain.snapshot import SNAPSHOT_SCHEMA, decode_state, encode_state, state_json
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
    plain = state_json(data)
    with pytest.raises(SnapshotError, match="cannot restore"):
        Portfolio.restore(data, dataclasses.replace(p.spec, id="zz"), 3, "n")
    with pytest.raises(SnapshotError, match="older"):
        Portfolio.restore(data, p.spec, 2, "n")
    future = msgspec.json.decode(plain)
    future["schema"] = SNAPSHOT_SCHEMA + 1
    with pytest.raises(SnapshotError, match="schema"):
        Portfolio.restore(msgspec.json.encode(future), p.spec, 3, "n")
    with pytest.raises(SnapshotError, match="undecodable"):
        Portfolio.restore(b"\x00not json", p.spec, 3, "n")
    with pytest.raises(SnapshotError, match="undecodable"):
        Portfolio.restore(zlib.compress(b"not json"), p.spec, 3, "n")
    broken = msgspec.json.decode(plain)
    del broken["books"]
    with pytest.raises(SnapshotError, match="invalid"):
        Portfolio.restore(zlib.compress(msgspec.json.encode(broken)), p.spec, 3, "n")


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


def test_the_snapshot_holds_a_bounded_closed_tail_and_no_fill_ids() -> None:
    p, _ = scripted(scripted_spec(extra="[settings]\nclosed_order_window = 2"))
    reports = []
    for i in range(5):
        order = order_for(p, Signal.target("AAPL", D(i + 1)), 100, i)
        reports.append(fill(order, price=100, fill_id=f"f{i}"))
        assert p.on_feedback(reports[-1]) is FeedbackResult.APPLIED
    state = msgspec.json.decode(state_json(p.snapshot()))
    assert "fill_ids" not in state
    assert state["closed_order_ids"] == ["p1-1-4", "p1-1-5"]
    assert [o["client_order_id"] for o in state["orders"]] == ["p1-1-4", "p1-1-5"]
    assert p.on_feedback(reports[4]) is FeedbackResult.DUPLICATE  # held: its fill ids
    assert p.on_feedback(reports[0]) is FeedbackResult.DUPLICATE  # forgotten, but booked here
    q = Portfolio.restore(p.snapshot(), p.spec, 2, "n2")
    assert [q.on_feedback(r) for r in reports] == [FeedbackResult.DUPLICATE] * 5
    assert p.books.position_qty("AAPL") == q.books.position_qty("AAPL") == 5


def test_snapshot_size_does_not_grow_with_history() -> None:
    p, _ = scripted()
    sizes = []
    for i in range(1, 601):
        order = order_for(p, Signal.target("AAPL", D(i % 2)), 100, i)
        assert p.on_feedback(fill(order, price=100, fill_id=f"f{i}")) is FeedbackResult.APPLIED
        if i in (100, 600):
            sizes.append(len(state_json(p.snapshot())))
    assert sizes[1] - sizes[0] < 100  # only the widths of growing numbers


def test_a_fill_for_an_order_never_booked_is_unknown() -> None:
    p, _ = scripted()
    order = order_for(p, Signal.target("AAPL", D(1)), 100)
    stranger = msgspec.structs.replace(order, client_order_id="p1-1-99")
    assert p.on_feedback(fill(stranger, fill_id="x")) is FeedbackResult.UNKNOWN_ORDER
    other_epoch = msgspec.structs.replace(order, client_order_id="p1-7-1", epoch=7)
    assert p.on_feedback(fill(other_epoch, fill_id="y")) is FeedbackResult.UNKNOWN_ORDER


def test_an_inferred_rejection_is_held_beyond_the_closed_tail() -> None:
    """A later report may revive it: it stays until the gateway confirms it."""
    p, _ = scripted(scripted_spec(extra="[settings]\nclosed_order_window = 1"))
    stale = order_for(p, Signal.target("AAPL", D(1)), 100)
    q = Portfolio.restore(p.snapshot(), p.spec, 2, "n2")
    assert q.reconcile([], []).expired == [stale.client_order_id]
    for i in range(3):
        order = order_for(q, Signal.target("MSFT", D(i + 1)), 10, i)
        q.on_feedback(fill(order, price=10, fill_id=f"m{i}"))
    r = Portfolio.restore(q.snapshot(), q.spec, 2, "n2")
    assert r.on_feedback(fill(stale, price=100, fill_id="late")) is FeedbackResult.APPLIED  # revived
    assert r.books.position_qty("AAPL") == 1


def test_encoding_is_deterministic_and_deflated() -> None:
    p, _ = scripted()
    data = p.snapshot()
    assert data == p.snapshot() and data[:1] != b"{"
    assert Portfolio.restore(data, p.spec, 1, "n1").snapshot() == data
    assert zlib.decompress(data) == state_json(data)
    assert decode_state(data) == decode_state(encode_state(decode_state(data)))


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
