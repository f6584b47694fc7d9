"""Order feedback in: at least once, de-duplicated by fill id, committed only
after a durable snapshot; under overload market data conflates while every
fill still applies (checked against the gateway journal)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.test_node_lifecycle import WrappedStore
from tests.integration.test_node_support import CONSUMER, SECRET, TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.domain.snapshot import state_json
from livecore.gateway.config import GatewayConfig
from livecore.gateway.journal_books import recompute_books
from livecore.gateway.service import TradeGateway
from livecore.node import ExecutionNode
from livecore.ports.bus import TopicPartition
from livecore.ports.store import SnapshotStore, StoredSnapshot
from livecore.wire.messages import FeedbackStatus, OrderFeedback, Side


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


@pytest.fixture
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig("embedded", request, tmp_path)


def report(pid: str, coid: str, status: FeedbackStatus, fill_id: str | None = None) -> OrderFeedback:
    filled = status is FeedbackStatus.FILLED
    return OrderFeedback(
        status=status,
        client_order_id=coid,
        portfolio_id=pid,
        epoch=1,
        symbol="AAA",
        side=Side.BUY,
        fill_id=fill_id,
        fill_qty=Decimal(1) if filled else None,
        fill_price=Decimal(10) if filled else None,
        cumulative_qty=Decimal(1) if filled else Decimal(0),
        ts_ns=1,
    )


def position(rig: NodeRig, node: ExecutionNode, pid: str, symbol: str = "AAA") -> Decimal:
    held = rig.portfolio(node, pid).books.positions.get(symbol)
    return held.quantity if held is not None else Decimal(0)


def test_a_redelivered_fill_is_applied_once_and_committed_after_the_snapshot(rig: NodeRig) -> None:
    node = rig.running_node()
    pid, other = rig.pid(), rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10")
    coid = rig.wait_orders(pid, 1)[0][1].client_order_id
    rig.feedback(report(pid, coid, FeedbackStatus.ACCEPTED))
    fill = report(pid, coid, FeedbackStatus.FILLED, fill_id="fill-1")
    rig.feedback(fill)
    rig.feedback(fill)  # redelivered
    rig.feedback(report(other, f"{other}-1-1", FeedbackStatus.ACCEPTED))  # not hosted here: ignored
    wait_until(lambda: rig.portfolio(node, pid).view().counters.duplicates == 1, TIMEOUT, "duplicate seen")
    assert position(rig, node, pid) == Decimal(1)
    assert rig.portfolio(node, pid).view().fills_count == 1
    wait_until(lambda: node.feedback_loop.tracker.outstanding() == 0, TIMEOUT, "every record released")
    assert node.feedback_loop.ignored >= 1
    stored = rig.store.snapshots.latest(pid)
    assert stored is not None and b"fill-1" in state_json(stored.data)  # the snapshot holds the fill
    group = f"execution_node_{node.node_id}.feedback"
    node.stop()
    probe = rig.bus.consumer(group, [rig.topics.orders_feedback], "latest", CONSUMER)
    try:
        count = rig.config.topic_layout.orders_feedback
        partitions = [TopicPartition(rig.topics.orders_feedback, p) for p in range(count)]
        committed = probe.committed(partitions)
        assert sum(offset or 0 for offset in committed.values()) == 4  # all four records committed
    finally:
        probe.close()


class FailingSnapshots(SnapshotStore):
    def __init__(self, inner: SnapshotStore) -> None:
        self.inner, self.failing = inner, False

    def save(self, portfolio_id: str, epoch: int, data: bytes, taken_ns: int) -> int:
        if self.failing:
            raise OSError("disk full")
        return self.inner.save(portfolio_id, epoch, data, taken_ns)

    def latest(self, portfolio_id: str) -> StoredSnapshot | None:
        return self.inner.latest(portfolio_id)


def test_no_commit_while_the_snapshot_cannot_be_saved(embedded: NodeRig) -> None:
    snapshots = FailingSnapshots(embedded.store.snapshots)
    node = ExecutionNode(
        "commit-node",
        bus=embedded.bus,
        coord=embedded.coord,
        store=WrappedStore(embedded.store, snapshots),
        config=embedded.config,
        secret=SECRET,
    )
    embedded.nodes.append(node)
    embedded.start(node)
    pid = embedded.pid()
    embedded.load(node, pid, ["AAA"])
    embedded.tick("AAA", "10")
    coid = embedded.wait_orders(pid, 1)[0][1].client_order_id
    snapshots.failing = True
    commits = node.feedback_loop.commits
    embedded.feedback(report(pid, coid, FeedbackStatus.FILLED, fill_id="f-1"))
    wait_until(lambda: position(embedded, node, pid) == 1, TIMEOUT, "fill applied")
    wait_until(lambda: node.config.snapshot_interval_s < rig_snapshot_age(node, pid), TIMEOUT, "a periodic retry")
    assert node.feedback_loop.tracker.outstanding() == 1
    assert node.feedback_loop.commits == commits
    snapshots.failing = False
    wait_until(lambda: node.feedback_loop.tracker.outstanding() == 0, TIMEOUT, "released after the save")
    wait_until(lambda: node.feedback_loop.commits > commits, TIMEOUT, "committed")


def rig_snapshot_age(node: ExecutionNode, pid: str) -> float:
    return node.portfolios[pid].snapshot_age


def test_overload_conflates_market_data_while_every_fill_applies(rig: NodeRig) -> None:
    gateway = TradeGateway(rig.bus, rig.coord, rig.store, GatewayConfig(topic_prefix=rig.prefix, consumer=CONSUMER))
    gateway.start()
    try:
        assert gateway.wait_ready(TIMEOUT)
        node = rig.running_node(mailbox_size=4, workers=2)
        slow, fast = rig.pid(), rig.pid()
        symbols = ["S1", "S2", "S3"]
        rig.load(node, slow, symbols, strategy="livecore.testing.strategies:Accumulate", params="delay_s = 0.004")
        rig.load(node, fast, ["FFF"])
        rig.ticks([(symbols[i % 3], str(10 + i % 7)) for i in range(600)] + [("FFF", "50")])
        rig.wait_orders(fast, 1)  # a slow portfolio does not stall the others
        wait_until(lambda: node.dropped_event_count > 0, TIMEOUT, "conflation")
        assert node.backpressure_count >= node.dropped_event_count
        wait_until(lambda: len(node.portfolios[slow].mailbox) == 0, TIMEOUT, "slow portfolio caught up")
        assert rig.command(node.node_id, "node.pause").ok  # no new orders from here on

        def all_filled() -> bool:
            orders = {e.order.client_order_id for e in rig.store.journal.orders(slow)}
            filled = {
                e.feedback.client_order_id
                for e in rig.store.journal.feedback(slow)
                if e.feedback.status is FeedbackStatus.FILLED
            }
            if orders and orders <= filled:
                return True
            rig.ticks([(s, "10") for s in symbols])  # the paper gateway fills on the next price
            return False

        wait_until(all_filled, TIMEOUT, "every order of the slow portfolio filled", interval=0.2)

        def books_match_journal() -> bool:
            orders = [e.order for e in rig.store.journal.orders(slow)]
            feedback = [e.feedback for e in rig.store.journal.feedback(slow)]
            expected = recompute_books(orders, feedback, Decimal(1_000_000), slow)
            books = rig.portfolio(node, slow).books
            held = {s: p.quantity for s, p in books.positions.items() if p.quantity}
            wanted = {s: q for s, q in expected.positions.items() if q}
            return held == wanted and books.cash == expected.cash and books.reserved == 0

        wait_until(books_match_journal, TIMEOUT, "books equal the gateway journal")
        fills = [e for e in rig.store.journal.feedback(slow) if e.feedback.status is FeedbackStatus.FILLED]
        assert len(fills) >= 2
        assert rig.portfolio(node, slow).view().fills_count == len(fills)
    finally:
        gateway.stop()
