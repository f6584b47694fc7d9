"""RecordGuard: what happens to one record's work when it raises."""

from __future__ import annotations

import sqlalchemy.exc

from livecore.faults import RetryPolicy
from livecore.isolation import RecordGuard, RecordOutcome, backends_answer, wait_while

POLICY = RetryPolicy(max_attempts=3, backoff_s=0.0, max_backoff_s=0.0, min_give_up_s=0.0)


class Work:
    """Raises the given exceptions in turn, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def guard(probe: bool = True, stop_after: int | None = None) -> tuple[RecordGuard, list[float]]:
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return stop_after is not None and len(waits) >= stop_after

    return RecordGuard(label="t", policy=POLICY, probe=lambda: probe, wait=wait), waits


def data_error() -> sqlalchemy.exc.DataError:
    return sqlalchemy.exc.DataError("INSERT", {}, Exception("bigint out of range"))


def operational() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))


def test_success_needs_no_dead_letter() -> None:
    g, _ = guard()
    letters: list[str] = []
    assert g.run(Work(), letters.append, "r") is RecordOutcome.DONE
    assert letters == [] and g.failures == 0


def test_a_defect_is_dead_lettered_at_once_with_its_reason() -> None:
    g, waits = guard()
    letters: list[str] = []
    work = Work(ValueError("price overflow"))
    assert g.run(work, letters.append, "r") is RecordOutcome.DEAD_LETTERED
    assert work.calls == 1 and waits == []
    assert letters == ["defect: ValueError: price overflow"]
    assert (g.failures, g.dead_lettered, g.retries) == (1, 1, 0)


def test_a_rejection_is_tried_max_attempts_then_dead_lettered() -> None:
    g, waits = guard()
    letters: list[str] = []
    work = Work(*[data_error() for _ in range(10)])
    assert g.run(work, letters.append, "r") is RecordOutcome.DEAD_LETTERED
    assert work.calls == 3 and len(waits) == 2
    assert letters[0].startswith("rejected: DataError") and "bigint out of range" in letters[0]
    assert letters[0].endswith("(after 3 tries)")


def test_a_rejection_that_clears_is_processed() -> None:
    g, _ = guard()
    letters: list[str] = []
    work = Work(data_error())
    assert g.run(work, letters.append, "r") is RecordOutcome.DONE
    assert work.calls == 2 and letters == [] and g.retries == 1


def test_a_transient_failure_waits_for_as_long_as_the_backend_is_down() -> None:
    g, waits = guard(probe=False)
    letters: list[str] = []
    work = Work(*[operational() for _ in range(20)])
    assert g.run(work, letters.append, "r") is RecordOutcome.DONE
    assert work.calls == 21 and letters == [] and g.dead_lettered == 0 and len(waits) == 20


def test_a_transient_looking_failure_while_backends_answer_is_dead_lettered() -> None:
    g, _ = guard(probe=True)
    letters: list[str] = []
    work = Work(*[operational() for _ in range(20)])
    assert g.run(work, letters.append, "r") is RecordOutcome.DEAD_LETTERED
    assert work.calls == 3 and letters[0].startswith("transient: OperationalError")


def test_stopping_while_waiting_leaves_the_record_unhandled() -> None:
    g, _ = guard(probe=False, stop_after=2)
    letters: list[str] = []
    work = Work(*[operational() for _ in range(20)])
    assert g.run(work, letters.append, "r") is RecordOutcome.STOPPED
    assert work.calls == 2 and letters == []


def test_a_dead_letter_that_cannot_be_written_is_tried_again_and_never_skipped() -> None:
    g, waits = guard(stop_after=3)
    tries: list[str] = []

    def broken(reason: str) -> None:
        tries.append(reason)
        raise RuntimeError("no producer")

    # the record is never committed without its dead letter: STOPPED, not DEAD_LETTERED
    assert g.run(Work(KeyError("x")), broken, "r") is RecordOutcome.STOPPED
    assert len(tries) == 3 and g.give_up_failures == 3 and len(waits) == 3


def test_a_dead_letter_written_on_a_later_try_dead_letters_the_record() -> None:
    g, _ = guard()
    tries: list[str] = []

    def flaky(reason: str) -> None:
        tries.append(reason)
        if len(tries) < 3:
            raise RuntimeError("no producer yet")

    assert g.run(Work(KeyError("x")), flaky, "r") is RecordOutcome.DEAD_LETTERED
    assert len(tries) == 3


def test_backends_answer_is_false_when_any_ping_raises() -> None:
    def down() -> None:
        raise ConnectionRefusedError()

    assert backends_answer(lambda: None, lambda: None)()
    assert not backends_answer(lambda: None, down)()


def test_wait_while_returns_at_once_when_stopped() -> None:
    assert wait_while(lambda: False)(10.0) is True
    assert wait_while(lambda: True)(0.0) is False


def test_a_transient_failure_as_the_outage_ends_is_tried_again() -> None:
    answers = iter([False, False, True, True])
    waits: list[float] = []
    g = RecordGuard(label="t", policy=POLICY, probe=lambda: next(answers), wait=lambda s: bool(waits.append(s)))
    work = Work(operational(), operational(), operational())
    assert g.run(work, [].append, "r") is RecordOutcome.DONE
    assert work.calls == 4 and g.dead_lettered == 0
