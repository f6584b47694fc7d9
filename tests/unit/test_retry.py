"""The one retry loop, on a fake clock: attempt counting, give-up, backoff bounds."""

from __future__ import annotations

import pytest

from livecore.faults import RetryPolicy
from livecore.retry import Backoff, RetryStopped, retry


class FakeTime:
    """A clock that only moves when the loop waits; records every pause."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.now = 100.0
        self.pauses: list[float] = []
        self.stop_after = stop_after

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.pauses.append(seconds)
        self.now += seconds
        return self.stop_after is not None and len(self.pauses) >= self.stop_after


class Flaky:
    """Raises ``exc`` on the first ``failures`` calls, then returns the call count."""

    def __init__(self, failures: int, exc: Exception | None = None) -> None:
        self.failures = failures
        self.exc = exc or ConnectionError("down")
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return self.calls


def always(_exc: Exception, _attempt: int) -> bool:
    return True


def test_retries_until_the_work_succeeds_and_counts_attempts() -> None:
    time, work = FakeTime(), Flaky(3)
    seen: list[int] = []

    def retry_on(_exc: Exception, attempt: int) -> bool:
        seen.append(attempt)
        return True

    result = retry(work, retry_on=retry_on, backoff=Backoff(1, 8).pause, wait=time.wait, clock=time.clock)
    assert result == 4 and work.calls == 4
    assert seen == [1, 2, 3]
    assert time.pauses == [1, 2, 4]


def test_a_failure_not_to_retry_is_raised_at_once() -> None:
    time, work = FakeTime(), Flaky(5, ValueError("bad record"))
    with pytest.raises(ValueError, match="bad record"):
        retry(
            work,
            retry_on=lambda exc, _: isinstance(exc, ConnectionError),
            backoff=Backoff(1, 1).pause,
            wait=time.wait,
            clock=time.clock,
        )
    assert work.calls == 1 and time.pauses == []


def test_the_caller_gives_up_after_some_attempts() -> None:
    time, work = FakeTime(), Flaky(10)
    with pytest.raises(ConnectionError):
        retry(work, retry_on=lambda _, attempt: attempt < 3, backoff=Backoff(1, 1).pause, wait=time.wait)
    assert work.calls == 3 and time.pauses == [1, 1]


def test_gives_up_once_the_time_allowed_is_over() -> None:
    time, work = FakeTime(), Flaky(100)
    with pytest.raises(ConnectionError):
        retry(work, retry_on=always, backoff=Backoff(1, 4).pause, give_up_after_s=10, wait=time.wait, clock=time.clock)
    # pauses 1 + 2 + 4 + 4 = 11 s: the try at 11 s fails past the limit and is the last
    assert time.pauses == [1, 2, 4, 4]
    assert work.calls == 5


def test_a_stopping_wait_ends_the_loop_without_another_try() -> None:
    time, work = FakeTime(stop_after=2), Flaky(100)
    with pytest.raises(RetryStopped) as stopped:
        retry(work, retry_on=always, backoff=Backoff(0.5, 0.5).pause, wait=time.wait, clock=time.clock)
    assert stopped.value.attempts == 2 and work.calls == 2


def test_backoff_doubles_within_its_bounds() -> None:
    backoff = Backoff(0.05, 2.0)
    pauses = [backoff.pause(n) for n in range(1, 12)]
    assert pauses[:4] == [0.05, 0.1, 0.2, 0.4]
    assert all(0.05 <= p <= 2.0 for p in pauses) and pauses[-1] == 2.0
    assert backoff.pause(10_000) == 2.0  # no overflow on a long outage
    assert Backoff(0.5, 0.5).pause(7) == 0.5  # equal bounds: a fixed pause
    with pytest.raises(ValueError):
        Backoff(1.0, 0.5)
    with pytest.raises(ValueError):
        Backoff(-1.0, 0.5)


def test_the_record_policy_uses_the_same_schedule() -> None:
    policy = RetryPolicy(backoff_s=0.05, max_backoff_s=2.0)
    assert [policy.backoff(n) for n in range(1, 40)] == [Backoff(0.05, 2.0).pause(n) for n in range(1, 40)]
