"""Per-record isolation in the node's consumer loops, on the in-process bus and
on Tansu / redis-server / PostgreSQL: a record whose handling raises is
dead-lettered with its reason and the records behind it are processed; a
backend that fails for a while makes the loop retry the same record."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.wire import codec
from livecore.wire.messages import FeedbackStatus, MarketEvent, OrderFeedback, ScheduleCommand, Side
from livecore.wire.signing import CommandVerifier

POISON_PRICE = b'"price":"666.13"'


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


class PoisonedDecoder:
    """The real market decoder, except that it raises on one marked payload."""

    def __init__(self, real: codec.Decoder[MarketEvent]) -> None:
        self._real = real
        self.name = real.name

    def decode(self, payload: bytes) -> MarketEvent:
        if POISON_PRICE in payload:
            raise ArithmeticError("price out of any range")
        return self._real.decode(payload)


class PoisonedFeedbackDecoder:
    """The real feedback decoder, except that it raises on one marked payload."""

    def __init__(self, real: codec.Decoder[OrderFeedback]) -> None:
        self._real = real
        self.name = real.name

    def decode(self, payload: bytes) -> OrderFeedback:
        if b"poison-fill" in payload:
            raise RecursionError("maximum recursion depth exceeded")
        return self._real.decode(payload)


class FlakyVerify:
    """``CommandVerifier.verify`` that raises ``failures`` (in turn, then forever
    the last one if ``forever``) for one nonce, and verifies every other command."""

    def __init__(self, nonce: str, failures: list[Exception], forever: bool = False) -> None:
        self._real = CommandVerifier.verify
        self._nonce = nonce
        self._failures = failures
        self._forever = forever
        self.calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FlakyVerify:
        def verify(verifier: CommandVerifier, cmd: ScheduleCommand) -> Any:
            if cmd.nonce == self._nonce:
                self.calls += 1
                if self._failures:
                    raise self._failures[0] if self._forever else self._failures.pop(0)
            return self._real(verifier, cmd)

        monkeypatch.setattr(CommandVerifier, "verify", verify)
        return self


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
    assert letter.reason == "defect: ArithmeticError: price out of any range"
    assert node.market_loop.failed_records == 1 and node.market_loop.errors == 0
    assert node.ready and all(t.is_alive() for t in node._threads.values())


def test_a_command_whose_verification_raises_is_dead_lettered_and_the_next_one_runs(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node()
    poison = rig.signer.build("node.pause", node.node_id, None, {})
    FlakyVerify(poison.nonce, [KeyError("nonce table")], forever=True).install(monkeypatch)
    good = rig.signer.build("node.pause", node.node_id, None, {})
    send_in_order(rig, node.node_id, poison, good)  # right behind it, same partition
    assert rig.ack(good).ok
    assert node.paused
    wait_until(lambda: len(rig.dead_letters(rig.topics.schedule_updates)) == 1, TIMEOUT, "command dead letter")
    (letter,) = rig.dead_letters(rig.topics.schedule_updates)
    assert letter.payload == codec.encode(poison) and letter.reason == "defect: KeyError: 'nonce table'"
    assert node.schedule_loop.failed_records == 1
    assert node.ready


def test_a_command_meeting_a_coordination_outage_is_retried_and_runs_once_it_ends(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node(record_retry=_fast_retry())
    cmd = rig.signer.build("node.pause", node.node_id, None, {})
    outage = [redis.exceptions.ConnectionError("connection refused") for _ in range(3)]
    flaky = FlakyVerify(cmd.nonce, outage).install(monkeypatch)
    rig.send_command(cmd)
    ack = rig.ack(cmd)
    assert ack.ok and node.paused
    assert flaky.calls == 4 and node.schedule_loop.guard.retries == 3
    assert node.schedule_loop.failed_records == 0
    assert rig.dead_letters(rig.topics.schedule_updates) == []


def test_a_transient_looking_failure_while_the_backends_answer_is_dead_lettered_after_bounded_tries(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = rig.running_node(record_retry=_fast_retry())
    poison = rig.signer.build("node.pause", node.node_id, None, {})
    flaky = FlakyVerify(poison.nonce, [TimeoutError("always")], forever=True).install(monkeypatch)
    good = rig.signer.build("node.resume", node.node_id, None, {})
    send_in_order(rig, node.node_id, poison, good)
    assert rig.ack(good).ok
    assert flaky.calls == 5  # max_attempts, then the probe found redis and the database answering
    wait_until(lambda: len(rig.dead_letters(rig.topics.schedule_updates)) == 1, TIMEOUT, "command dead letter")
    (letter,) = rig.dead_letters(rig.topics.schedule_updates)
    assert letter.reason == "transient: TimeoutError: always (after 5 tries)"


def test_feedback_that_raises_is_dead_lettered_and_the_fill_behind_it_applies(
    rig: NodeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codec, "order_feedback", PoisonedFeedbackDecoder(codec.order_feedback))
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10")
    coid = rig.wait_orders(pid, 1)[0][1].client_order_id

    def fill(fill_id: str) -> OrderFeedback:
        return OrderFeedback(
            status=FeedbackStatus.FILLED,
            client_order_id=coid,
            portfolio_id=pid,
            epoch=1,
            symbol="AAA",
            side=Side.BUY,
            fill_id=fill_id,
            fill_qty=Decimal(1),
            fill_price=Decimal(10),
            cumulative_qty=Decimal(1),
            ts_ns=1,
        )

    rig.feedback(fill("poison-fill"))
    rig.feedback(fill("f-1"))  # same key, right behind it
    wait_until(lambda: rig.portfolio(node, pid).books.positions.get("AAA") is not None, TIMEOUT, "the fill applied")
    wait_until(lambda: len(rig.dead_letters(rig.topics.orders_feedback)) == 1, TIMEOUT, "feedback dead letter")
    (letter,) = rig.dead_letters(rig.topics.orders_feedback)
    assert letter.reason == "defect: RecursionError: maximum recursion depth exceeded"
    assert node.feedback_loop.failed_records == 1
    wait_until(lambda: node.feedback_loop.tracker.outstanding() == 0, TIMEOUT, "every feedback offset released")


def send_in_order(rig: NodeRig, key: str, *commands: ScheduleCommand) -> None:
    """Publish with one key: one partition, so the node reads them in this order."""
    for cmd in commands:
        rig.producer.publish(rig.topics.schedule_updates, key, codec.encode(cmd))
    rig.producer.flush(TIMEOUT)


def _fast_retry() -> Any:
    from livecore.faults import RetryPolicy

    return RetryPolicy(max_attempts=5, backoff_s=0.01, max_backoff_s=0.05, min_give_up_s=0.0)
