"""One contract for the durable store on a SQLite file and on PostgreSQL (the
``db_url`` fixture runs each case on both).

The PostgreSQL database is shared by the session, so every test uses its own
portfolio ids (``pid`` fixture) and filters by them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from livecore.adapters.factory import open_store
from livecore.adapters.sql.equity import thinned
from livecore.adapters.sql_store import SqlSettings, SqlStore
from livecore.errors import BackendUnavailable, ConfigError
from livecore.ports.store import EquityPoint, Store, StoreError
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, OrderType, Side
from tests.concurrency import race
from tests.servers import free_port


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    opened = SqlStore(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def pid() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def order(pid: str, seq: int, epoch: int = 1, **overrides: object) -> NewOrder:
    fields: dict[str, object] = {
        "client_order_id": f"{pid}-{epoch}-{seq}",
        "portfolio_id": pid,
        "epoch": epoch,
        "node_id": "n1",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": Decimal("10.000001"),
        "created_ns": 1_000 + seq,
    }
    fields.update(overrides)
    return NewOrder(**fields)  # type: ignore[arg-type]


def accepted(o: NewOrder) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.ACCEPTED,
        client_order_id=o.client_order_id,
        portfolio_id=o.portfolio_id,
        epoch=o.epoch,
        symbol=o.symbol,
        side=o.side,
    )


def fill(o: NewOrder, fill_id: str, qty: str, final: bool = False) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED if final else FeedbackStatus.PARTIALLY_FILLED,
        client_order_id=o.client_order_id,
        portfolio_id=o.portfolio_id,
        epoch=o.epoch,
        symbol=o.symbol,
        side=o.side,
        fill_id=fill_id,
        fill_qty=Decimal(qty),
        fill_price=Decimal("187.123456789"),
        cumulative_qty=Decimal(qty),
        commission=Decimal("0.0035"),
    )


def closed(o: NewOrder, status: FeedbackStatus) -> OrderFeedback:
    return OrderFeedback(
        status=status,
        client_order_id=o.client_order_id,
        portfolio_id=o.portfolio_id,
        epoch=o.epoch,
        reason="test" if status is FeedbackStatus.REJECTED else None,
    )


# --- snapshots ---------------------------------------------------------------


def test_snapshot_save_and_latest(store: Store, pid: str) -> None:
    assert store.snapshots.latest(pid) is None
    v1 = store.snapshots.save(pid, 1, b"\x00state-1\xff", taken_ns=10)
    v2 = store.snapshots.save(pid, 2, b"state-2", taken_ns=20)
    assert v2 > v1
    latest = store.snapshots.latest(pid)
    assert latest is not None
    assert (latest.portfolio_id, latest.epoch, latest.version, latest.data, latest.taken_ns) == (
        pid,
        2,
        v2,
        b"state-2",
        20,
    )
    assert store.snapshots.latest(pid + "-other") is None


def test_snapshot_retention_keeps_newest_versions(db_url: str, pid: str) -> None:
    store = SqlStore(db_url, SqlSettings(snapshot_versions_kept=3))
    try:
        versions = [store.snapshots.save(pid, 1, f"s{i}".encode(), taken_ns=i) for i in range(7)]
        assert versions == sorted(versions) and len(set(versions)) == 7
        assert store.snapshots.versions(pid) == versions[-3:]
        assert store.snapshots.get(pid, versions[0]) is None
        kept = store.snapshots.get(pid, versions[-3])
        assert kept is not None and kept.data == b"s4"
        latest = store.snapshots.latest(pid)
        assert latest is not None and latest.data == b"s6"
    finally:
        store.close()


def test_default_retention_is_five(store: SqlStore, pid: str) -> None:
    for i in range(8):
        store.snapshots.save(pid, 1, b"x", taken_ns=i)
    assert len(store.snapshots.versions(pid)) == 5


def test_concurrent_snapshot_saves_get_distinct_versions(store: SqlStore, pid: str) -> None:
    versions = race(4, lambda i: store.snapshots.save(pid, 1, f"t{i}".encode(), taken_ns=i))
    assert sorted(versions) == list(range(min(versions), min(versions) + 4))


# --- journal: orders ---------------------------------------------------------


def test_record_order_once(store: Store, pid: str) -> None:
    o = order(pid, 1, order_type=OrderType.LIMIT, limit_price=Decimal("99.990000001"))
    assert store.journal.record_order(o, received_ns=5) is True
    assert store.journal.record_order(o, received_ns=6) is False
    got = store.journal.get_order(o.client_order_id)
    assert got is not None
    assert got.order == o and got.received_ns == 5
    assert got.order.limit_price == Decimal("99.990000001")
    assert store.journal.get_order(pid + "-missing") is None
    assert [j.order for j in store.journal.orders(pid)] == [o]


def test_concurrent_duplicate_orders_are_written_once(store: Store, pid: str) -> None:
    o = order(pid, 1)
    results = race(4, lambda i: store.journal.record_order(o, received_ns=i))
    assert results.count(True) == 1
    assert len(store.journal.orders(pid)) == 1


def test_orders_in_receive_order_filtered_by_portfolio(store: Store, pid: str) -> None:
    other = pid + "-b"
    written = [order(pid, 3), order(other, 1), order(pid, 1), order(pid, 2)]
    for i, o in enumerate(written):
        store.journal.record_order(o, received_ns=i)
    assert [j.order for j in store.journal.orders(pid)] == [written[0], written[2], written[3]]
    assert [j.order for j in store.journal.orders(other)] == [written[1]]
    ids = [j.order.client_order_id for j in store.journal.orders()]
    assert [o.client_order_id for o in written] == [i for i in ids if i.startswith(pid)]


# --- journal: feedback -------------------------------------------------------


def test_feedback_sequence_and_exact_decimals(store: Store, pid: str) -> None:
    o = order(pid, 1)
    store.journal.record_order(o, received_ns=1)
    a = store.journal.record_feedback(accepted(o))
    f1 = store.journal.record_feedback(fill(o, f"{pid}-f1", "4.000001"))
    f2 = store.journal.record_feedback(fill(o, f"{pid}-f2", "6", final=True))
    assert a.seq < f1.seq < f2.seq
    entries = store.journal.feedback_for_order(o.client_order_id)
    assert [e.seq for e in entries] == [a.seq, f1.seq, f2.seq]
    assert [e.feedback for e in entries] == [accepted(o), f1.feedback, f2.feedback]
    assert entries[1].feedback.fill_qty == Decimal("4.000001")
    assert entries[1].feedback.fill_price == Decimal("187.123456789")
    assert entries[1].feedback.commission == Decimal("0.0035")


def test_duplicate_fill_is_written_once(store: Store, pid: str) -> None:
    o = order(pid, 1)
    first = store.journal.record_feedback(fill(o, f"{pid}-f1", "1"))
    resend = fill(o, f"{pid}-f1", "1")
    again = store.journal.record_feedback(resend)
    assert again == first
    assert len(store.journal.feedback_for_order(o.client_order_id)) == 1


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_duplicate_fill_is_written_once(store: Store, pid: str, threads: int) -> None:
    o = order(pid, 1)
    results = race(threads, lambda i: store.journal.record_feedback(fill(o, f"{pid}-f1", "1")))
    assert len({r.seq for r in results}) == 1
    assert [e.seq for e in store.journal.feedback(pid)] == [results[0].seq]


def test_non_fill_feedback_is_not_deduplicated(store: Store, pid: str) -> None:
    o = order(pid, 1)
    first = store.journal.record_feedback(accepted(o))
    second = store.journal.record_feedback(accepted(o))
    assert second.seq > first.seq


def test_concurrent_feedback_seqs_are_distinct_and_ordered(store: Store, pid: str) -> None:
    orders = [order(pid, i) for i in range(6)]
    race(6, lambda i: store.journal.record_feedback(fill(orders[i], f"{pid}-f{i}", "1")))
    seqs = [e.seq for e in store.journal.feedback(pid)]
    assert len(seqs) == 6 and seqs == sorted(set(seqs))


def test_feedback_filters_by_portfolio_and_after_seq(store: Store, pid: str) -> None:
    other = pid + "-b"
    mine, theirs = order(pid, 1), order(other, 1)
    e1 = store.journal.record_feedback(accepted(mine))
    e2 = store.journal.record_feedback(accepted(theirs))
    e3 = store.journal.record_feedback(fill(mine, f"{pid}-f1", "2"))
    assert store.journal.feedback(pid) == [e1, e3]
    assert store.journal.feedback(pid, after_seq=e1.seq) == [e3]
    assert store.journal.feedback(other) == [e2]
    assert store.journal.feedback(pid, after_seq=e3.seq) == []
    everything = [e for e in store.journal.feedback(after_seq=e1.seq - 1) if e.seq <= e3.seq]
    assert [e.seq for e in everything] == [e1.seq, e2.seq, e3.seq]


def test_open_orders_are_those_without_a_final_outcome(store: Store, pid: str) -> None:
    fresh, working, partial, done, rejected, cancelled = (order(pid, i) for i in range(6))
    for o in (fresh, working, partial, done, rejected, cancelled):
        store.journal.record_order(o, received_ns=1)
    for o in (working, partial, done, rejected, cancelled):
        store.journal.record_feedback(accepted(o))
    store.journal.record_feedback(fill(partial, f"{pid}-p1", "1"))
    store.journal.record_feedback(fill(done, f"{pid}-d1", "10", final=True))
    store.journal.record_feedback(closed(rejected, FeedbackStatus.REJECTED))
    store.journal.record_feedback(closed(cancelled, FeedbackStatus.CANCELLED))
    still_open = [j.order for j in store.journal.open_orders() if j.order.portfolio_id == pid]
    assert still_open == [fresh, working, partial]


def test_orders_page_newest_first_with_status_and_fills(store: Store, pid: str) -> None:
    other = pid + "-b"
    mine = [order(pid, i) for i in range(5)]
    for i, o in enumerate(mine):
        store.journal.record_order(o, received_ns=100 + i)
        store.journal.record_order(order(other, i), received_ns=200 + i)
    store.journal.record_feedback(accepted(mine[1]))
    store.journal.record_feedback(fill(mine[1], f"{pid}-f1", "4.000001"))
    store.journal.record_feedback(fill(mine[1], f"{pid}-f2", "6", final=True))
    store.journal.record_feedback(closed(mine[3], FeedbackStatus.REJECTED))
    first = store.journal.orders_page(pid, limit=2)
    assert [r.order for r in first.items] == [mine[4], mine[3]]
    assert [(r.status, r.filled_qty, r.received_ns) for r in first.items] == [
        (None, Decimal(0), 104),
        ("rejected", Decimal(0), 103),
    ]
    assert first.before is not None
    second = store.journal.orders_page(pid, limit=2, before=first.before)
    assert [r.order for r in second.items] == [mine[2], mine[1]]
    assert second.items[1].status == "filled" and second.items[1].filled_qty == Decimal("10.000001")
    last = store.journal.orders_page(pid, limit=2, before=second.before)
    assert [r.order for r in last.items] == [mine[0]] and last.before is None
    exact = store.journal.orders_page(pid, limit=5)
    assert len(exact.items) == 5 and exact.before is None  # nothing older: no cursor
    assert store.journal.orders_page(pid + "-none", limit=5).items == []


def test_feedback_page_newest_first_and_fills_only(store: Store, pid: str) -> None:
    o, theirs = order(pid, 1), order(pid + "-b", 1)
    a = store.journal.record_feedback(accepted(o))
    store.journal.record_feedback(accepted(theirs))
    f1 = store.journal.record_feedback(fill(o, f"{pid}-f1", "1"))
    f2 = store.journal.record_feedback(fill(o, f"{pid}-f2", "2", final=True))
    page = store.journal.feedback_page(pid, limit=2)
    assert page.items == [f2, f1] and page.before == f1.seq
    rest = store.journal.feedback_page(pid, limit=2, before=page.before)
    assert rest.items == [a] and rest.before is None
    fills = store.journal.feedback_page(pid, limit=10, fills_only=True)
    assert fills.items == [f2, f1] and fills.before is None
    assert store.journal.feedback_page(pid, limit=1, fills_only=True).before == f2.seq


# --- registry ----------------------------------------------------------------


def test_registry_upsert_get_list(store: Store, pid: str) -> None:
    store.registry.upsert(pid + "-b", "name = 'b'\n", "running", now_ns=1)
    store.registry.upsert(pid + "-a", "name = 'a'\n", "stopped", now_ns=2)
    a = store.registry.get(pid + "-a")
    assert a is not None
    assert (a.spec_toml, a.desired, a.node_id, a.epoch, a.updated_ns) == ("name = 'a'\n", "stopped", None, 0, 2)
    mine = [e.portfolio_id for e in store.registry.list() if e.portfolio_id.startswith(pid)]
    assert mine == [pid + "-a", pid + "-b"]
    assert store.registry.get(pid + "-missing") is None


def test_registry_upsert_keeps_placement(store: Store, pid: str) -> None:
    store.registry.upsert(pid, "v1", "running", now_ns=1)
    assert store.registry.set_placement(pid, "n1", 3, now_ns=2) is True
    store.registry.upsert(pid, "v2", "stopped", now_ns=3)
    entry = store.registry.get(pid)
    assert entry is not None
    assert (entry.spec_toml, entry.desired, entry.node_id, entry.epoch) == ("v2", "stopped", "n1", 3)


def test_registry_set_desired(store: Store, pid: str) -> None:
    store.registry.upsert(pid, "spec", "running", now_ns=1)
    assert store.registry.set_desired(pid, "stopped", now_ns=5) is True
    entry = store.registry.get(pid)
    assert entry is not None and (entry.desired, entry.updated_ns) == ("stopped", 5)
    assert store.registry.set_desired(pid + "-missing", "stopped", now_ns=5) is False
    with pytest.raises(ValueError):
        store.registry.set_desired(pid, "paused", now_ns=6)  # type: ignore[arg-type]


def test_registry_set_placement_refuses_lower_epoch(store: Store, pid: str) -> None:
    store.registry.upsert(pid, "spec", "running", now_ns=1)
    assert store.registry.set_placement(pid, "n1", 2, now_ns=2) is True
    assert store.registry.set_placement(pid, "n2", 1, now_ns=3) is False
    entry = store.registry.get(pid)
    assert entry is not None and (entry.node_id, entry.epoch) == ("n1", 2)
    assert store.registry.set_placement(pid, None, 2, now_ns=4) is True
    assert store.registry.set_placement(pid, "n2", 3, now_ns=5) is True
    entry = store.registry.get(pid)
    assert entry is not None and (entry.node_id, entry.epoch, entry.updated_ns) == ("n2", 3, 5)
    assert store.registry.set_placement(pid + "-missing", "n1", 9, now_ns=6) is False


def test_registry_set_placements_in_one_write_each_refused_alone(store: Store, pid: str) -> None:
    pids = [f"{pid}-{i}" for i in range(3)]
    for each in pids:
        store.registry.upsert(each, "spec", "running", now_ns=1)
    store.registry.set_placement(pids[1], "n9", 7, now_ns=2)
    done = store.registry.set_placements([(pids[0], "n1", 2), (pids[1], "n1", 2), (pids[2], "n2", 3)], now_ns=5)
    assert done == (True, False, True)  # p1 is stored at a higher epoch: that row alone is refused
    placed = {each: store.registry.get(each) for each in pids}
    assert {each: (e.node_id, e.epoch) for each, e in placed.items() if e is not None} == {
        pids[0]: ("n1", 2),
        pids[1]: ("n9", 7),
        pids[2]: ("n2", 3),
    }
    assert store.registry.set_placements([], now_ns=6) == ()


def test_concurrent_placements_keep_the_highest_epoch(store: Store, pid: str) -> None:
    store.registry.upsert(pid, "spec", "running", now_ns=1)
    race(6, lambda i: store.registry.set_placement(pid, f"n{i}", i + 1, now_ns=i))
    entry = store.registry.get(pid)
    assert entry is not None and (entry.node_id, entry.epoch) == ("n5", 6)


def test_registry_remove(store: Store, pid: str) -> None:
    store.registry.upsert(pid, "spec", "running", now_ns=1)
    assert store.registry.remove(pid) is True
    assert store.registry.get(pid) is None
    assert store.registry.remove(pid) is False


def test_registry_code_version(store: Store, pid: str) -> None:
    store.registry.upsert(pid, "spec", "running", now_ns=1)
    entry = store.registry.get(pid)
    assert entry is not None and entry.code_version is None  # not recorded yet
    store.registry.upsert(pid, "spec", "running", now_ns=2, code_version='{"m": "aa"}')
    store.registry.upsert(pid, "spec2", "running", now_ns=3)  # no version given: kept
    entry = store.registry.get(pid)
    assert entry is not None and (entry.spec_toml, entry.code_version) == ("spec2", '{"m": "aa"}')
    assert store.registry.set_code_version(pid, '{"m": "bb"}', now_ns=4) is True
    entry = store.registry.get(pid)
    assert entry is not None and (entry.code_version, entry.updated_ns) == ('{"m": "bb"}', 4)
    assert store.registry.set_code_version(pid + "-missing", "x", now_ns=5) is False


# --- audit -------------------------------------------------------------------


def test_audit_newest_first_with_event_filter(store: Store, pid: str) -> None:
    store.audit.record("node", "command_refused", {"reason": "forged", "pid": pid}, ts_ns=1)
    store.audit.record("scheduler", "failover", {"pid": pid, "epoch": 2, "cash": Decimal("1.10")}, ts_ns=2)
    store.audit.record("node", "command_refused", {"reason": "replayed", "pid": pid}, ts_ns=3)
    recent = [e for e in store.audit.recent(limit=1000) if e.detail.get("pid") == pid]
    assert [e.event for e in recent] == ["command_refused", "failover", "command_refused"]
    assert recent[0].id > recent[1].id > recent[2].id
    assert recent[1].detail == {"pid": pid, "epoch": 2, "cash": "1.10"}
    assert (recent[1].component, recent[1].ts_ns) == ("scheduler", 2)
    refused = [e for e in store.audit.recent(event="command_refused", limit=1000) if e.detail.get("pid") == pid]
    assert [e.detail["reason"] for e in refused] == ["replayed", "forged"]
    assert len(store.audit.recent(limit=1)) == 1


def test_audit_pages_kinds_and_portfolio_filter(store: Store, pid: str) -> None:
    other = pid.upper()  # differs only in case: the filter is exact
    store.audit.record("scheduler", "failover", {"portfolio_id": pid, "from": "n1", "to": "n2"}, ts_ns=1)
    store.audit.record("node", "command_refused", {"node_id": "n1", "portfolio_id": other}, ts_ns=2)
    store.audit.record("scheduler", "migration", {"portfolio_id": pid, "gap_ms": 1.5}, ts_ns=3)
    store.audit.record("scheduler", "node_lost", {"node_id": f"{pid}-n1"}, ts_ns=4)
    mine = store.audit.recent(limit=10, portfolio_id=pid)
    assert [e.event for e in mine] == ["migration", "failover"]
    assert [e.event for e in store.audit.recent(limit=10, portfolio_id=other)] == ["command_refused"]
    assert store.audit.recent(limit=10, portfolio_id=pid[:-1]) == []  # a prefix is not the id
    kinds = store.audit.recent(limit=1000, event=["failover", "migration", "node_lost"])
    kinds = [e for e in kinds if e.detail.get("portfolio_id") == pid or e.detail.get("node_id") == f"{pid}-n1"]
    assert [e.event for e in kinds] == ["node_lost", "migration", "failover"]
    newest = store.audit.recent(limit=1, portfolio_id=pid)
    older = store.audit.recent(limit=10, portfolio_id=pid, before=newest[0].id)
    assert [e.event for e in newest + older] == ["migration", "failover"]
    assert store.audit.recent(limit=10, portfolio_id=pid, event="failover", before=newest[0].id)[0].ts_ns == 1


# --- equity history ----------------------------------------------------------


def point(pid: str, ts_ns: int, equity: str = "100000", epoch: int = 1, node: str = "n1") -> EquityPoint:
    return EquityPoint(
        portfolio_id=pid,
        ts_ns=ts_ns,
        epoch=epoch,
        node_id=node,
        equity=Decimal(equity),
        cash=Decimal("98765.432109876543"),
        realized_pnl=Decimal("-12.5"),
        unrealized_pnl=Decimal("0.000000000001"),
    )


def test_equity_points_are_exact_oldest_first_and_windowed(store: Store, pid: str) -> None:
    assert store.equity.points(pid, limit=10) == []
    written = [point(pid, ts, equity=f"1000{ts}.25", epoch=1 + ts // 30) for ts in (10, 30, 20, 40)]
    for p in written:
        store.equity.record(p)
    store.equity.record(point(pid + "-b", 25))
    got = store.equity.points(pid, limit=10)
    assert [p.ts_ns for p in got] == [10, 20, 30, 40]
    assert got[0] == written[0] and got[0].cash == Decimal("98765.432109876543")
    assert got[0].unrealized_pnl == Decimal("0.000000000001")
    assert [p.ts_ns for p in store.equity.points(pid, limit=2)] == [30, 40]  # the newest, oldest first
    assert [p.ts_ns for p in store.equity.points(pid, limit=2, before_ns=30)] == [10, 20]
    assert [p.ts_ns for p in store.equity.points(pid, limit=10, after_ns=20)] == [30, 40]
    assert [p.ts_ns for p in store.equity.points(pid, limit=10, after_ns=10, before_ns=40)] == [20, 30]
    assert [(p.epoch, p.node_id) for p in store.equity.points(pid, limit=1)] == [(2, "n1")]


def test_equity_epochs_say_where_the_portfolio_ran(store: Store, pid: str) -> None:
    assert store.equity.epochs(pid) == []
    for ts, epoch, node in ((10, 1, "n1"), (20, 1, "n1"), (30, 2, "n2"), (40, 2, "n2"), (50, 2, "n2"), (60, 3, "n1")):
        store.equity.record(point(pid, ts, epoch=epoch, node=node))
    spans = [(s.epoch, s.node_id, s.first_ns, s.last_ns, s.points) for s in store.equity.epochs(pid)]
    assert spans == [(1, "n1", 10, 20, 2), (2, "n2", 30, 50, 3), (3, "n1", 60, 60, 1)]


def test_equity_history_is_bounded_by_thinning_its_older_half(db_url: str, pid: str) -> None:
    store = SqlStore(db_url, SqlSettings(equity_points_kept=8))
    try:
        for ts in range(1, 41):
            store.equity.record(point(pid, ts))
            held = store.equity.points(pid, limit=100)
            assert len(held) <= 8
            assert held[0].ts_ns == 1  # the curve still starts where it started
            assert [p.ts_ns for p in held[-4:]] == list(range(max(1, ts - 3), ts + 1))[-len(held[-4:]) :]
        assert store.equity.points(pid + "-other", limit=100) == []
    finally:
        store.close()


def test_thinning_deletes_every_second_older_point() -> None:
    assert thinned([1, 2, 3, 4, 5, 6, 7, 8, 9], keep_recent=4) == [2, 4]
    assert thinned([1, 2, 3], keep_recent=4) == []
    assert thinned(list(range(10)), keep_recent=0) == [1, 3, 5, 7, 9]


def test_equity_limit_below_four_is_refused(db_url: str) -> None:
    with pytest.raises(StoreError, match="equity_points_kept"):
        SqlStore(db_url, SqlSettings(equity_points_kept=3))


# --- lifecycle ---------------------------------------------------------------


def test_reopened_store_sees_the_data(db_url: str, pid: str) -> None:
    first = SqlStore(db_url)
    o = order(pid, 1)
    try:
        first.snapshots.save(pid, 1, b"snap", taken_ns=1)
        first.journal.record_order(o, received_ns=1)
        fb = first.journal.record_feedback(fill(o, f"{pid}-f1", "1"))
        first.registry.upsert(pid, "spec", "running", now_ns=1)
        first.audit.record("test", "reopen", {"pid": pid}, ts_ns=1)
    finally:
        first.close()
    second = open_store(db_url)
    try:
        latest = second.snapshots.latest(pid)
        assert latest is not None and latest.data == b"snap"
        assert [j.order for j in second.journal.orders(pid)] == [o]
        assert second.journal.feedback(pid) == [fb]
        assert second.journal.record_order(o, received_ns=2) is False
        assert second.journal.record_feedback(fill(o, f"{pid}-f1", "1")) == fb
        assert second.registry.get(pid) is not None
        assert any(e.detail.get("pid") == pid for e in second.audit.recent(event="reopen"))
    finally:
        second.close()


def test_two_stores_opening_at_once(db_url: str) -> None:
    stores = race(4, lambda i: SqlStore(db_url))
    try:
        for s in stores:
            s.ping()
    finally:
        for s in stores:
            s.close()


def test_many_stores_racing_to_create_a_new_sqlite_file(tmp_path: Path) -> None:
    """Switching a new file to WAL needs an exclusive lock that SQLite may refuse at
    once, without waiting, while other connections race to open it."""
    for round_ in range(10):
        url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        stores = race(8, lambda i, url=url: SqlStore(url))  # type: ignore[misc]
        for s in stores:
            s.ping()
            s.close()


def test_ping(store: Store) -> None:
    store.ping()


def test_sqlite_creates_the_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "livecore.db"
    store = SqlStore(f"sqlite:///{path}")
    try:
        store.ping()
        assert path.exists()
    finally:
        store.close()


def test_sqlite_in_memory_is_refused() -> None:
    with pytest.raises(StoreError, match="not a file"):
        SqlStore("sqlite:///:memory:")


def test_bad_url_is_refused_clearly() -> None:
    with pytest.raises(StoreError, match="bad database URL"):
        SqlStore("not a url")
    with pytest.raises(ConfigError, match="scheme"):
        open_store("mysql://127.0.0.1:3306/x")


def test_missing_postgres_database_fails_clearly(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + f"/livecore_missing_{uuid.uuid4().hex[:8]}"
    with pytest.raises(StoreError, match="does not exist"):
        SqlStore(missing)


def test_unreachable_postgres_fails_fast() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/livecore"
    with pytest.raises(StoreError, match=r"127\.0\.0\.1"):
        SqlStore(url)
    with pytest.raises(BackendUnavailable, match="cannot open database"):
        open_store(url)
