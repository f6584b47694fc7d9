"""The time-based give-up: a transient failure while the backends answer is
dead-lettered only after ``max_attempts`` tries and ``min_give_up_s`` seconds."""

from __future__ import annotations

import pytest
import redis.exceptions

from livecore.faults import RetryPolicy
from livecore.isolation import RecordGuard, RecordOutcome

FAILOVER = RetryPolicy(max_attempts=3, backoff_s=1.0, max_backoff_s=2.0, min_give_up_s=30.0)


class FakeClock:
    """Time moves only when the guard waits: no sleeps, exact figures."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return False  # never stopping


class ReadOnlyFor:
    """Fails with Redis's failover answer until ``until`` on the clock, then succeeds."""

    def __init__(self, clock: FakeClock, until: float) -> None:
        self.clock = clock
        self.until = until
        self.calls = 0
        self.failed_at: list[float] = []

    def __call__(self) -> None:
        self.calls += 1
        if self.clock.now < self.until:
            self.failed_at.append(self.clock.now)
            raise redis.exceptions.ReadOnlyError("You can't write against a read only replica.")


def guard(clock: FakeClock, policy: RetryPolicy = FAILOVER) -> RecordGuard:
    return RecordGuard(label="t", policy=policy, probe=lambda: True, wait=clock.wait, clock=clock)


def test_a_failover_shorter_than_min_give_up_s_is_waited_out_while_the_probe_answers() -> None:
    clock = FakeClock()
    work = ReadOnlyFor(clock, until=clock.now + 20.0)
    letters: list[str] = []
    assert guard(clock).run(work, letters.append, "order") is RecordOutcome.DONE
    assert letters == [] and work.calls > FAILOVER.max_attempts


def test_a_failure_that_lasts_is_dead_lettered_once_min_give_up_s_has_passed() -> None:
    clock = FakeClock()
    work = ReadOnlyFor(clock, until=float("inf"))
    letters: list[str] = []
    assert guard(clock).run(work, letters.append, "order") is RecordOutcome.DEAD_LETTERED
    assert work.failed_at[-1] - work.failed_at[0] >= 30.0
    assert work.failed_at[-2] - work.failed_at[0] < 30.0  # not one try later than needed
    assert letters[0].startswith("transient: ReadOnlyError")


def test_min_give_up_s_alone_does_not_give_up_before_max_attempts() -> None:
    clock = FakeClock()
    slow = RetryPolicy(max_attempts=4, backoff_s=100.0, max_backoff_s=100.0, min_give_up_s=1.0)
    work = ReadOnlyFor(clock, until=float("inf"))
    assert guard(clock, slow).run(work, [].append, "order") is RecordOutcome.DEAD_LETTERED
    assert work.calls == 4


def test_the_clock_restarts_when_the_backends_stop_answering() -> None:
    clock = FakeClock()
    answers = iter([True] * 5 + [False] + [True] * 100)
    work = ReadOnlyFor(clock, until=float("inf"))
    g = RecordGuard(label="t", policy=FAILOVER, probe=lambda: next(answers), wait=clock.wait, clock=clock)
    assert g.run(work, [].append, "order") is RecordOutcome.DEAD_LETTERED
    restart = work.failed_at[6]  # the first failure after the probe failed once
    assert work.failed_at[-1] - restart >= 30.0 and work.failed_at[-2] - restart < 30.0


@pytest.mark.parametrize(
    ("failures", "failing_for_s", "expected"),
    [(5, 30.0, True), (4, 300.0, False), (50, 29.9, False), (5, 31.0, True)],
)
def test_transient_exhausted_needs_both_tries_and_time(failures: int, failing_for_s: float, expected: bool) -> None:
    assert RetryPolicy().transient_exhausted(failures, failing_for_s) is expected


def test_the_defaults_are_the_documented_ones() -> None:
    assert RetryPolicy() == RetryPolicy(max_attempts=5, backoff_s=0.05, max_backoff_s=2.0, min_give_up_s=30.0)


def test_a_negative_min_give_up_s_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(min_give_up_s=-1.0)
