"""Per-record isolation in the node's consumer loops, on the in-process bus and
on Tansu / redis-server / PostgreSQL: a record whose handling raises is
dead-lettered with its reason and the records behind it are processed; a
backend that fails for a while makes the loop retry the same record."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.ports.coordination import CoordinationError
from livecore.refusals import refusal_reason
from livecore.wire import codec, names
from livecore.wire.messages import FeedbackStatus, MarketEvent, OrderFeedback, ScheduleCommand, Side

POISON_PRICE = b'"price":"666.13"'
ACCUMULATE = "livecore.testing.strategies:Accumulate"


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


class PoisonedDecoder:
    """The real market decoder, except that it raises on one marked payload (an error
    that is no decode refusal: a bug)."""

    def __init__(self, real: codec.Decoder[MarketEvent]) -> None:
        self._real = real
        self.name = real.name
        self.refused, self.checked = real.refused, real.checked

    @property
    def unwrapped(self) -> Callable[[bytes], MarketEvent]:
        return self.decode

    def decode(self, payload: bytes) -> MarketEvent:
        if POISON_PRICE in payload:
            raise LookupError("price out of any range")
        return self._real.decode(payload)

    def batch(self, payloads: list[bytes]) -> list[MarketEvent] | None:
        """A batch holding the marked payload is decoded one by one (as a refused one is)."""
        return None if any(POISON_PRICE in p for p in payloads) else self._real.batch(payloads)


class PoisonedFeedbackDecoder:
    """The real feedback decoder, except that it raises on one marked payload."""

    def __init__(self, real: codec.Decoder[OrderFeedback]) -> None:
        self._real = real
        self.name = real.name

    def decode(self, payload: bytes) -> OrderFeedback:
        if b"poison-fill" in payload:
            raise RecursionError("maximum recursion depth exceeded")
        return self._real.decode(payload)


class FlakyFence:
    """The rig's coordination store, except that ``get_fence`` of one portfolio (what
    ``portfolio.load`` asks first) raises ``failures`` in turn (then the last one
    forever if ``forever``) on the schedule-updates thread: wrapped the way the Redis
    adapter wraps a driver error, or as they are (``wrap=False``: a bug)."""

    def __init__(
        self, coord: Any, pid: str, failures: list[Exception], forever: bool = False, wrap: bool = True
    ) -> None:
        self._wrap = wrap
        self._real = coord.get_fence
        self._key = names.portfolio_epoch_key(pid)
        self._failures = failures
        self._forever = forever
        self.calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch, coord: Any) -> FlakyFence:
        monkeypatch.setattr(coord, "get_fence", self)
        return self

    def __call__(self, key: str) -> Any:
        if key == self._key and threading.current_thread().name.startswith("schedule"):
            self.calls += 1
            if self._failures:
                cause = self._failures[0] if self._forever else self._failures.pop(0)
                if not self._wrap:
                    raise cause
                raise CoordinationError(f"redis get_fence failed: {cause}") from cause
        return self._real(key)


class FailingAckWrites:
    """The rig's coordination store, except that writing one command's ack fails ``times`` times."""

    def __init__(self, coord: Any, nonce: str, times: int) -> None:
        self._real = coord.set
        self._key = names.command_ack_key(nonce)
        self.left = times

    def install(self, monkeypatch: pytest.MonkeyPatch, coord: Any) -> FailingAckWrites:
        monkeypatch.setattr(coord, "set", self)
        return self

    def __call__(self, key: str, value: str, ttl: float | None = None) -> None:
        if key == self._key and self.left > 0:
            self.left -= 1
            raise CoordinationError("redis set failed") from redis.exceptions.ConnectionError("connection refused")
        self._real(key, value, ttl=ttl)


def test_a_tick_that_raises_is_dead_lettered_and_the_rest_of_its_batch_routes(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codec, "market_events", PoisonedDecoder(codec.market_events))
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA", "BBB"])
    rig.ticks([("AAA", "666.13"), ("BBB", "10"), ("AAA", "11")])  # one flush: usually one batch
    orders = rig.wait_orders(pid, 2)
    assert sorted(o.symbol for _, o in orders) == ["AAA", "BBB"]
    wait_until(lambda: len(rig.dead_letters(rig.topics.market_data)) == 1, TIMEOUT, "market dead letter")
    (letter,) = rig.dead_letters(rig.topics.market_data)
    assert POISON_PRICE in letter.payload
    assert letter.reason == "defect: LookupError: price out of any range"
    assert node.market_loop.failed_records == 1 and node.market_loop.errors == 0
    assert node.ready and all(t.is_alive() for t in node._threads.values())
    metrics = names.metrics_key(node.node_id)
    failed = names.loop_failed_field(names.MARKET_LOOP)
    wait_until(lambda: rig.coord.hgetall(metrics).get(failed) == "1", TIMEOUT, "the dead letter in the metrics")


def test_a_mailbox_that_raises_on_an_offer_is_counted_in_the_metrics(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    processor = node.portfolios[pid]

    def offer(slots: Any) -> int:
        raise BufferError("mailbox broken")

    monkeypatch.setattr(processor, "offer_market", offer)
    rig.tick("AAA", "10")
    metrics = names.metrics_key(node.node_id)
    wait_until(lambda: rig.coord.hgetall(metrics).get(names.OFFER_ERRORS_FIELD) == "1", TIMEOUT, "offer errors")


def test_a_command_whose_handler_has_a_defect_is_dead_lettered_at_once_and_the_next_one_runs(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node(record_retry=_fast_retry())
    pid = rig.pid()
    rig.register(pid, ["AAA"])
    rig.fence(pid, 1, node.node_id)
    fence = FlakyFence(rig.coord, pid, [KeyError("fence table")], True, wrap=False).install(monkeypatch, rig.coord)
    poison = rig.signer.build("portfolio.load", node.node_id, pid, {"epoch": 1})
    good = rig.signer.build("node.pause", node.node_id, None, {})
    send_in_order(rig, node.node_id, poison, good)  # right behind it, same partition
    assert rig.ack(good).ok and node.paused
    ack = rig.ack(poison)
    assert not ack.ok and refusal_reason(ack) is None and ack.detail.startswith("internal error: defect: ")
    assert fence.calls == 1  # a defect is not retried
    wait_until(lambda: len(rig.dead_letters(rig.topics.schedule_updates)) == 1, TIMEOUT, "command dead letter")
    (letter,) = rig.dead_letters(rig.topics.schedule_updates)
    assert letter.payload == codec.encode(poison) and letter.reason == "defect: KeyError: 'fence table'"
    assert node.schedule_loop.failed_records == 1 and node.dispatcher.refused == 0
    assert node.ready


def test_a_load_meeting_a_coordination_outage_is_retried_and_runs_once_it_ends(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node(record_retry=_fast_retry())
    pid = rig.pid()
    rig.register(pid, ["AAA"])
    rig.fence(pid, 1, node.node_id)
    outage = [redis.exceptions.ConnectionError("connection refused") for _ in range(3)]
    fence = FlakyFence(rig.coord, pid, outage).install(monkeypatch, rig.coord)
    cmd = rig.signer.build("portfolio.load", node.node_id, pid, {"epoch": 1})
    rig.send_command(cmd)
    ack = rig.ack(cmd)
    assert ack.ok, ack.detail
    assert pid in node.portfolios and node.portfolios[pid].epoch == 1
    assert fence.calls == 4 and node.schedule_loop.guard.retries == 3
    assert node.schedule_loop.failed_records == 0 and node.dispatcher.refused == 0
    assert rig.dead_letters(rig.topics.schedule_updates) == []


def test_an_ack_that_cannot_be_written_is_written_again_without_running_the_command_again(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node(record_retry=_fast_retry())
    cmd = rig.signer.build("node.pause", node.node_id, None, {})
    writes = FailingAckWrites(rig.coord, cmd.nonce, 2).install(monkeypatch, rig.coord)
    rig.send_command(cmd)
    ack = rig.ack(cmd)
    assert ack.ok and ack.detail.startswith("paused") and writes.left == 0  # not "already paused"
    assert node.dispatcher.handled == 1 and node.schedule_loop.guard.retries == 2


def test_a_redelivered_command_is_answered_with_its_genuine_ack_never_refused(rig: NodeRig) -> None:
    node = rig.running_node()
    cmd = rig.signer.build("node.pause", node.node_id, None, {})
    rig.send_command(cmd)
    first = rig.ack(cmd)
    assert first.ok
    rig.coord.delete(names.command_ack_key(cmd.nonce))  # the ack was lost
    rig.send_command(cmd)  # the bus delivers the command again
    again = rig.ack(cmd)
    assert again == first and refusal_reason(again) is None
    assert node.dispatcher.handled == 1 and node.dispatcher.replayed == 1 and node.dispatcher.refused == 0


def test_a_transient_looking_failure_while_the_backends_answer_is_dead_lettered_after_bounded_tries(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node(record_retry=_fast_retry())
    pid = rig.pid()
    rig.register(pid, ["AAA"])
    rig.fence(pid, 1, node.node_id)
    fence = FlakyFence(rig.coord, pid, [TimeoutError("always")], forever=True).install(monkeypatch, rig.coord)
    poison = rig.signer.build("portfolio.load", node.node_id, pid, {"epoch": 1})
    good = rig.signer.build("node.resume", node.node_id, None, {})
    send_in_order(rig, node.node_id, poison, good)
    assert rig.ack(good).ok
    ack = rig.ack(poison)  # the two may sit on different partitions: either may run first
    assert fence.calls == 5  # max_attempts, then the probe found redis and the database answering
    assert not ack.ok and refusal_reason(ack) is None and ack.detail.startswith("internal error: transient: ")
    wait_until(lambda: len(rig.dead_letters(rig.topics.schedule_updates)) == 1, TIMEOUT, "command dead letter")
    (letter,) = rig.dead_letters(rig.topics.schedule_updates)
    assert letter.reason.startswith("transient: CoordinationError: ") and letter.reason.endswith("(after 5 tries)")


def _fill(pid: str, coid: str, fill_id: str, qty: int = 1) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=coid,
        portfolio_id=pid,
        epoch=1,
        symbol="AAA",
        side=Side.BUY,
        fill_id=fill_id,
        fill_qty=Decimal(qty),
        fill_price=Decimal(10),
        cumulative_qty=Decimal(qty),
        ts_ns=1,
    )


def test_feedback_that_raises_is_dead_lettered_and_the_fill_behind_it_applies(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codec, "order_feedback", PoisonedFeedbackDecoder(codec.order_feedback))
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10")
    coid = rig.wait_orders(pid, 1)[0][1].client_order_id
    rig.feedback(_fill(pid, coid, "poison-fill"))
    rig.feedback(_fill(pid, coid, "f-1"))  # same key, right behind it
    wait_until(lambda: rig.portfolio(node, pid).books.positions.get("AAA") is not None, TIMEOUT, "the fill applied")
    wait_until(lambda: len(rig.dead_letters(rig.topics.orders_feedback)) == 1, TIMEOUT, "feedback dead letter")
    (letter,) = rig.dead_letters(rig.topics.orders_feedback)
    assert letter.reason == "defect: RecursionError: maximum recursion depth exceeded"
    assert node.feedback_loop.failed_records == 1
    wait_until(lambda: node.feedback_loop.tracker.outstanding() == 0, TIMEOUT, "every feedback offset released")
    # undecodable, but keyed by its portfolio: that portfolio may miss a fill
    assert (node.portfolios[pid].needs_reconcile or "").startswith("needs reconcile: feedback given up: defect")


def test_a_fill_given_up_stops_its_portfolio_trading_visibly_until_it_is_loaded_again(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node()
    pid, other = rig.pid(), rig.pid()
    for portfolio in (pid, other):  # one more unit on every price while nothing is in flight
        rig.load(node, portfolio, ["AAA"], strategy=ACCUMULATE)
    rig.tick("AAA", "10")
    for portfolio in (pid, other):
        coid = rig.wait_orders(portfolio, 1)[0][1].client_order_id
        rig.feedback(_fill(portfolio, coid, f"f-{portfolio}"))
        wait_until(lambda p=portfolio: _position(rig, node, p) == 1, TIMEOUT, "the first fill applied")
    processor = node.portfolios[pid]
    real_offer = type(processor).offer_feedback

    def offer(self: Any, item: Any) -> bool:
        if item.feedback.fill_id == "lost":
            raise LookupError("mailbox lane vanished")
        return bool(real_offer(self, item))

    monkeypatch.setattr(type(processor), "offer_feedback", offer)
    rig.feedback(_fill(pid, rig.orders(pid)[0][1].client_order_id, "lost"))
    wait_until(lambda: processor.needs_reconcile is not None, TIMEOUT, "the portfolio isolated")
    assert processor.needs_reconcile == "needs reconcile: feedback given up: defect: LookupError: mailbox lane vanished"
    wait_until(lambda: len(rig.dead_letters(rig.topics.orders_feedback)) == 1, TIMEOUT, "feedback dead letter")
    (letter,) = rig.dead_letters(rig.topics.orders_feedback)
    assert letter.reason == "defect: LookupError: mailbox lane vanished"
    # visible: the published view says faulted, with the reason; audited
    wait_until(lambda: _view(rig, pid).get("faulted") is True, TIMEOUT, "the view shows it faulted")
    assert _view(rig, pid)["fault"] == processor.needs_reconcile
    audited = [e.detail for e in rig.store.audit.recent(100, event="portfolio_isolated")]
    assert [d["portfolio_id"] for d in audited if d["portfolio_id"] in (pid, other)] == [pid]  # the db is shared
    # no new position, even after a resume; the other portfolio trades on
    node.pause()
    node.resume()
    applied, other_orders = processor.events_applied, len(rig.orders(other))
    rig.tick("AAA", "9")
    rig.wait_orders(other, other_orders + 1)
    wait_until(lambda: processor.events_applied > applied, TIMEOUT, "the tick taken by the isolated portfolio")
    assert len(rig.orders(pid)) == 1
    assert not rig.portfolio(node, pid).trading_enabled and node.portfolios[other].needs_reconcile is None


def _position(rig: NodeRig, node: Any, pid: str) -> Decimal:
    position = rig.portfolio(node, pid).books.positions.get("AAA")
    return Decimal(0) if position is None else Decimal(position.quantity)


def _view(rig: NodeRig, pid: str) -> dict[str, Any]:
    raw = rig.coord.get(names.portfolio_view_key(pid))
    return {} if raw is None else dict(json.loads(raw))


def send_in_order(rig: NodeRig, key: str, *commands: ScheduleCommand) -> None:
    """Publish with one key: one partition, so the node reads them in this order."""
    for cmd in commands:
        rig.producer.publish(rig.topics.schedule_updates, key, codec.encode(cmd))
    rig.producer.flush(TIMEOUT)


def _fast_retry() -> Any:
    from livecore.faults import RetryPolicy

    return RetryPolicy(max_attempts=5, backoff_s=0.01, max_backoff_s=0.05, min_give_up_s=0.0)
