"""TradeGateway end to end through real ports: embedded (memory bus, memory
coordination, SQLite) and servers (Tansu, redis-server, PostgreSQL together).

Each test uses its own topic prefix and portfolio ids, so the session-wide
servers can be shared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from tests.servers import wait_until

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.gateway.config import GatewayConfig
from livecore.gateway.costs import CostModel
from livecore.gateway.journal_books import recompute_books
from livecore.gateway.paper import PaperSettings
from livecore.gateway.service import TradeGateway
from livecore.gateway.stats import partition_of
from livecore.ports.bus import Bus, Consumer, ConsumerSettings
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.wire.codec import dead_letters, encode, order_feedback
from livecore.wire.messages import (
    CancelOrder,
    DeadLetter,
    FeedbackStatus,
    NewOrder,
    OrderFeedback,
    OrderType,
    Side,
    Tick,
)
from livecore.wire.names import Topics, portfolio_epoch_key

CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750, fetch_wait_max_ms=20)
TIMEOUT = 30.0
ACC, REJ, PART, FILL, CXL = (
    FeedbackStatus.ACCEPTED,
    FeedbackStatus.REJECTED,
    FeedbackStatus.PARTIALLY_FILLED,
    FeedbackStatus.FILLED,
    FeedbackStatus.CANCELLED,
)


class Harness:
    """Backends, a gateway, a sender of orders and ticks, a reader of feedback."""

    def __init__(self, bus: Bus, coord: Coordination, store: Store) -> None:
        self.bus, self.coord, self.store = bus, coord, store
        self.prefix = f"t{uuid.uuid4().hex[:10]}."
        self.topics = Topics(self.prefix)
        self.producer = bus.producer()
        self.gateways: list[TradeGateway] = []
        self.feedback: list[OrderFeedback] = []
        self._reader: Consumer | None = None

    def settings(self, **overrides: object) -> GatewayConfig:
        values: dict[str, object] = {"topic_prefix": self.prefix, "consumer": CONSUMER}
        values.update(overrides)
        return GatewayConfig(**values)  # type: ignore[arg-type]

    def start(self, **overrides: object) -> TradeGateway:
        gateway = TradeGateway(self.bus, self.coord, self.store, self.settings(**overrides))
        gateway.start()
        self.gateways.append(gateway)
        assert gateway.wait_ready(TIMEOUT), "gateway consumers got no partitions"
        return gateway

    def stop(self, gateway: TradeGateway) -> None:
        gateway.stop()
        self.gateways.remove(gateway)

    def pid(self) -> str:
        return f"p{uuid.uuid4().hex[:8]}"

    def fence(self, pid: str, epoch: int) -> None:
        assert self.coord.advance_fence(portfolio_epoch_key(pid), epoch, f"node-{epoch}")

    def send(self, message: NewOrder | CancelOrder | bytes, key: str = "x") -> None:
        if isinstance(message, bytes):
            self.producer.publish_sync(self.topics.orders, key, message)
        else:
            self.producer.publish_sync(self.topics.orders, message.portfolio_id, encode(message))

    def tick(self, symbol: str, price: str, size: str = "0") -> None:
        event = Tick(symbol=symbol, ts_ns=0, price=D(price), size=D(size))
        self.producer.publish_sync(self.topics.market_data, symbol, encode(event))

    def collect(self) -> list[OrderFeedback]:
        if self._reader is None:
            self._reader = self.bus.consumer(
                f"reader-{uuid.uuid4().hex}", [self.topics.orders_feedback], "earliest", CONSUMER
            )
        for record in self._reader.poll(500, 0.05):
            self.feedback.append(order_feedback.decode(record.value))
        return self.feedback

    def of(self, pid: str) -> list[OrderFeedback]:
        return [fb for fb in self.collect() if fb.portfolio_id == pid]

    def wait_for(self, pid: str, count: int) -> list[OrderFeedback]:
        wait_until(lambda: len(self.of(pid)) >= count, TIMEOUT, f"{count} feedback messages for {pid}")
        return self.of(pid)

    def journal_feedback(self, pid: str) -> list[OrderFeedback]:
        return [entry.feedback for entry in self.store.journal.feedback(pid)]

    def close(self) -> None:
        for gateway in list(self.gateways):
            gateway.stop()
        if self._reader is not None:
            self._reader.close()
        self.producer.close()


def order(pid: str, seq: int, epoch: int = 1, side: Side = Side.BUY, qty: str = "10", **kw: object) -> NewOrder:
    limit = kw.pop("limit", None)
    return NewOrder(
        client_order_id=f"{pid}-{epoch}-{seq}",
        portfolio_id=pid,
        epoch=epoch,
        node_id=f"node-{epoch}",
        symbol=str(kw.pop("symbol", "AAA")),
        side=side,
        quantity=D(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=D(str(limit)) if limit else None,
        created_ns=1,
    )


@pytest.fixture(params=["embedded", "servers"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "embedded":
        urls = (f"memory://{uuid.uuid4().hex}", f"memory://{uuid.uuid4().hex}", f"sqlite:///{tmp_path}/gw.db")
    else:
        urls = tuple(request.getfixturevalue(name) for name in ("kafka_url", "redis_url", "postgres_url"))
    bus, coord, store = open_bus(urls[0]), open_coordination(urls[1]), open_store(urls[2])
    h = Harness(bus, coord, store)
    try:
        yield h
    finally:
        h.close()
        store.close()
        coord.close()
        bus.close()


def statuses(feedback: list[OrderFeedback]) -> list[FeedbackStatus]:
    return [fb.status for fb in feedback]


def test_market_order_fills_and_journal_equals_published_feedback(harness: Harness) -> None:
    costs = CostModel(slippage_bps=D(10), commission_per_share=D("0.01"), commission_min=D(1))
    harness.start(paper=PaperSettings(costs=costs))
    pid = harness.pid()
    harness.fence(pid, 1)
    harness.send(order(pid, 1, qty="100"))
    harness.wait_for(pid, 1)
    harness.tick("AAA", "20")
    harness.wait_for(pid, 2)
    harness.send(order(pid, 2, side=Side.SELL, qty="40"))
    harness.wait_for(pid, 3)
    harness.tick("AAA", "21")
    published = harness.wait_for(pid, 4)
    assert statuses(published) == [ACC, FILL, ACC, FILL]
    assert [fb.fill_price for fb in published if fb.status is FILL] == [D("20.0200"), D("20.9790")]
    assert harness.journal_feedback(pid) == published
    books = recompute_books(
        [e.order for e in harness.store.journal.orders(pid)], harness.journal_feedback(pid), D(10_000)
    )
    assert books.positions == {"AAA": D(60)}
    assert books.cash == D(10_000) - D("2002.00") - 1 + D("839.16") - 1


def test_same_client_order_id_twice_executes_once_and_answers_identically(harness: Harness) -> None:
    gateway = harness.start()
    pid = harness.pid()
    harness.fence(pid, 1)
    first = order(pid, 1)
    harness.send(first)
    harness.send(first)
    harness.wait_for(pid, 2)
    harness.tick("AAA", "10")
    feedback = harness.wait_for(pid, 3)
    assert statuses(feedback) == [ACC, ACC, FILL]
    assert feedback[0] == feedback[1]
    harness.send(first)  # after the fill: the whole history again
    feedback = harness.wait_for(pid, 5)
    assert feedback[3:] == [feedback[0], feedback[2]]
    assert len(harness.store.journal.orders(pid)) == 1
    assert statuses(harness.journal_feedback(pid)) == [ACC, FILL]
    assert gateway.stats.duplicates == 2


def test_stale_epoch_is_rejected_while_the_current_epoch_trades(harness: Harness) -> None:
    harness.start()
    pid = harness.pid()
    harness.fence(pid, 2)
    harness.send(order(pid, 1, epoch=1))
    harness.send(order(pid, 1, epoch=2))
    harness.send(order(pid, 2, epoch=2, limit="5"))  # rests
    harness.wait_for(pid, 3)
    harness.tick("AAA", "10")
    feedback = harness.wait_for(pid, 4)
    assert [(fb.client_order_id, fb.status, fb.reason) for fb in feedback] == [
        (f"{pid}-1-1", REJ, "stale_epoch"),
        (f"{pid}-2-1", ACC, None),
        (f"{pid}-2-2", ACC, None),
        (f"{pid}-2-1", FILL, None),
    ]
    harness.fence(pid, 3)  # a new owner: the resting epoch-2 order must never fill
    harness.tick("AAA", "4")
    feedback = harness.wait_for(pid, 5)
    assert (feedback[4].client_order_id, feedback[4].status, feedback[4].reason) == (
        f"{pid}-2-2",
        CXL,
        "stale_epoch",
    )
    assert not [fb for fb in harness.journal_feedback(pid) if fb.client_order_id.endswith("-2-2") and fb.fill_id]


def test_no_fence_is_rejected_unless_allowed(harness: Harness) -> None:
    strict = harness.start()
    pid = harness.pid()
    harness.send(order(pid, 1))
    (fb,) = harness.wait_for(pid, 1)
    assert (fb.status, fb.reason) == (REJ, "no_owner")
    harness.stop(strict)
    harness.start(require_fence=False)
    other = harness.pid()
    harness.send(order(other, 1))
    assert statuses(harness.wait_for(other, 1)) == [ACC]


def test_cancel_of_a_resting_order(harness: Harness) -> None:
    harness.start()
    pid = harness.pid()
    harness.fence(pid, 1)
    harness.send(order(pid, 1, limit="5"))
    harness.send(CancelOrder(client_order_id=f"{pid}-1-1", portfolio_id=pid, epoch=1, node_id="n", created_ns=1))
    feedback = harness.wait_for(pid, 2)
    assert statuses(feedback) == [ACC, CXL] and feedback[1].reason == "cancel_requested"
    assert harness.store.journal.open_orders() == [] or all(
        o.order.portfolio_id != pid for o in harness.store.journal.open_orders()
    )


def test_restart_keeps_deduplication_journal_and_resting_orders(harness: Harness) -> None:
    first = harness.start(paper=PaperSettings(participation=D("0.5")))
    pid = harness.pid()
    harness.fence(pid, 1)
    filled, resting = order(pid, 1), order(pid, 2, qty="20", limit="9")
    harness.send(filled)
    harness.send(resting)
    harness.wait_for(pid, 2)
    harness.tick("AAA", "10", size="100")  # fills the market order, not the limit
    harness.tick("AAA", "9", size="20")  # 10 of the 20 resting
    harness.wait_for(pid, 4)
    harness.stop(first)

    second = harness.start(paper=PaperSettings(participation=D("0.5")))
    # the database may be shared with other tests: look at this portfolio's orders only
    adopted = [o.client_order_id for o in second.broker.open_orders() if o.portfolio_id == pid]
    assert adopted == [resting.client_order_id]
    harness.send(filled)  # resend after the restart: answered from the journal
    harness.wait_for(pid, 6)
    harness.tick("AAA", "8", size="100")
    feedback = harness.wait_for(pid, 7)
    fills = [fb for fb in harness.journal_feedback(pid) if fb.fill_id]
    assert [fb.fill_id for fb in fills] == [f"{pid}-1-1-f1", f"{pid}-1-2-f1", f"{pid}-1-2-f2"]
    assert feedback[-1].status is FILL and feedback[-1].cumulative_qty == D(20)
    assert len(harness.store.journal.orders(pid)) == 2
    assert second.stats.duplicates == 1 and second.stats.orders == 1


def test_malformed_order_is_dead_lettered_and_rejected(harness: Harness) -> None:
    gateway = harness.start()
    pid = harness.pid()
    harness.fence(pid, 1)
    harness.send(b"{not json", key=pid)
    bad = {"type": "new", "client_order_id": f"{pid}-1-1", "portfolio_id": pid, "epoch": 1, "quantity": "-5"}
    harness.send(encode_dict(bad), key=pid)
    harness.send(order(pid, 2))
    feedback = harness.wait_for(pid, 2)
    assert [(fb.client_order_id, fb.status) for fb in feedback] == [(f"{pid}-1-1", REJ), (f"{pid}-1-2", ACC)]
    assert feedback[0].reason is not None and feedback[0].reason.startswith("malformed: invalid order request")
    assert harness.journal_feedback(pid) == feedback
    dlq = harness.topics.dlq(harness.topics.orders)
    reader = harness.bus.consumer(f"dlq-{uuid.uuid4().hex}", [dlq], "earliest", CONSUMER)
    decoded: list[DeadLetter] = []

    def two_letters() -> bool:
        decoded.extend(dead_letters.decode(r.value) for r in reader.poll(10, 0.05))
        return len(decoded) >= 2

    try:
        wait_until(two_letters, TIMEOUT, "dead letters")
    finally:
        reader.close()
    assert [d.payload for d in decoded] == [b"{not json", encode_dict(bad)]
    assert all(d.component == "gateway" and d.reason for d in decoded)
    assert gateway.stats.malformed_orders == 2
    harness.producer.publish_sync(harness.topics.market_data, "AAA", b'{"type": "tick", "symbol": "AAA"}')
    harness.tick("AAA", "10")  # the loop goes on: the accepted order fills
    assert statuses(harness.wait_for(pid, 3))[-1] is FILL
    assert gateway.stats.malformed_market == 1


def encode_dict(value: dict[str, object]) -> bytes:
    import json

    return json.dumps(value).encode()


@pytest.mark.parametrize("harness", ["embedded"], indirect=True)
def test_two_gateways_share_the_group_and_the_survivor_adopts_resting_orders(harness: Harness) -> None:
    first = harness.start()
    second = harness.start()
    wait_until(
        lambda: (
            first.orders_partitions
            and second.orders_partitions
            and not (first.orders_partitions & second.orders_partitions)
        ),
        TIMEOUT,
        "partitions split between the gateways",
    )
    pids: list[str] = []
    while len(pids) < 8:  # two portfolios on each of the 4 orders partitions
        pid = harness.pid()
        if sum(partition_of(p, 4) == partition_of(pid, 4) for p in pids) < 2:
            pids.append(pid)
    for pid in pids:
        harness.fence(pid, 1)
        harness.send(order(pid, 1, limit="5"))
    for pid in pids:
        harness.wait_for(pid, 1)
    held = [{o.portfolio_id for o in g.broker.open_orders()} for g in (first, second)]
    assert held[0] | held[1] == set(pids) and not held[0] & held[1] and held[0] and held[1]

    harness.stop(first)
    wait_until(lambda: len(second.broker.open_orders()) == 8, TIMEOUT, "survivor adopts every resting order")
    harness.tick("AAA", "4")
    for pid in pids:
        assert statuses(harness.wait_for(pid, 2)) == [ACC, FILL]
    fills = [fb for pid in pids for fb in harness.journal_feedback(pid) if fb.fill_id]
    assert sorted(fb.fill_id or "" for fb in fills) == sorted(f"{pid}-1-1-f1" for pid in pids)


def test_cluster_halt_cancels_resting_orders_and_admits_only_reducing_ones_across_a_restart(
    harness: Harness,
) -> None:
    from livecore.control.halt import ClusterHalt, clear_halt, write_halt
    from livecore.gateway.halt import CLUSTER_HALT_CANCEL, REJECT_PREFIX

    gateway = harness.start(halt_poll_s=0.05)
    pid = harness.pid()
    harness.fence(pid, 1)
    harness.send(order(pid, 1, qty="100"))
    harness.wait_for(pid, 1)
    harness.tick("AAA", "20")  # long 100
    harness.send(order(pid, 2, qty="5", limit="10"))  # rests
    harness.wait_for(pid, 3)

    write_halt(harness.coord, ClusterHalt(reason="drill", since_ns=1, by="test"))
    try:
        resting = harness.wait_for(pid, 4)[3]
        assert (resting.client_order_id, resting.status, resting.reason) == (f"{pid}-1-2", CXL, CLUSTER_HALT_CANCEL)
        harness.send(order(pid, 3, qty="1"))  # grows: refused
        harness.send(order(pid, 4, side=Side.SELL, qty="101"))  # flips: refused
        harness.send(order(pid, 5, side=Side.SELL, qty="60"))  # reduces: admitted
        answers = harness.wait_for(pid, 7)[4:7]
        assert [(fb.status, (fb.reason or "").split(":")[0]) for fb in answers] == [
            (REJ, REJECT_PREFIX),
            (REJ, REJECT_PREFIX),
            (ACC, ""),
        ]
        # 100 long, 60 being sold: another sell of 50 would cross zero once both fill
        harness.send(order(pid, 6, side=Side.SELL, qty="50"))
        assert harness.wait_for(pid, 8)[7].status is REJ

        harness.stop(gateway)  # a gateway that starts while halted is halted at once
        restarted = harness.start(halt_poll_s=0.05)
        harness.send(order(pid, 7, qty="1"))
        refused = harness.wait_for(pid, 9)[8]
        assert refused.status is REJ and refused.reason == f"{REJECT_PREFIX}: drill"
        assert restarted.stats.rejected_cluster_halt == 1

        clear_halt(harness.coord)
        wait_until(lambda: _resumed(harness, pid), TIMEOUT, "an opening order accepted after the resume")
    finally:  # the halt key is shared by every deployment on this Redis
        clear_halt(harness.coord)


def _resumed(harness: Harness, pid: str) -> bool:
    """Send an opening order; True once one is accepted (the gateway saw the resume)."""
    seq = 100 + len(harness.of(pid))
    harness.send(order(pid, seq, qty="1", limit="1"))
    wait_until(lambda: any(fb.client_order_id == f"{pid}-1-{seq}" for fb in harness.of(pid)), TIMEOUT, "answer")
    answer = next(fb for fb in harness.of(pid) if fb.client_order_id == f"{pid}-1-{seq}")
    return answer.status is ACC
