"""``StepTimer``: each step's milliseconds and the total, for a log line."""

from __future__ import annotations

from livecore.telemetry.steps import StepTimer
from tests.unit.scheduler.harness import FakeClock


def test_each_step_counts_from_the_end_of_the_one_before() -> None:
    clock = FakeClock()
    steps = StepTimer(clock)
    clock.advance(0.020)
    steps.mark("restored")
    steps.mark("partitions read")
    clock.advance(0.0314)
    steps.mark("first snapshot")
    assert str(steps) == "51 ms (restored 20, partitions read 0, first snapshot 31)"


def test_no_step_yet() -> None:
    assert str(StepTimer(FakeClock())) == "0 ms ()"
