"""A record a consumer loop gives up on without retrying is counted by its guard."""

from __future__ import annotations

from livecore.isolation import always_answer
from livecore.node.loop import ConsumerLoop, LoopSettings
from livecore.ports.bus import Consumer


def _loop() -> ConsumerLoop:
    def no_consumer() -> Consumer:
        raise AssertionError("not started")

    return ConsumerLoop(
        consumer_factory=no_consumer,
        should_run=lambda: False,
        settings=LoopSettings(poll_batch=1, poll_timeout_s=0.01, probe=always_answer),
    )


def test_a_poisoned_record_is_counted_through_the_guard() -> None:
    loop = _loop()
    reason = loop.poisoned("market.data@7", ValueError("bad price"))
    assert reason == "defect: ValueError: bad price"
    assert (loop.guard.failures, loop.guard.dead_lettered, loop.guard.retries) == (1, 1, 0)
    assert loop.failed_records == 1


def test_the_guard_counts_a_record_given_up_without_a_retry() -> None:
    guard = _loop().guard
    assert guard.given_up("x", TimeoutError("slow")) == "transient: TimeoutError: slow"
    assert (guard.failures, guard.dead_lettered) == (1, 1)
