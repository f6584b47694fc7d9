"""Per-record isolation: one record that fails never stops the records behind it.

A consumer loop hands each record's work to ``RecordGuard.run``. What happens
when the work raises depends on ``faults.classify``:

- ``DEFECT`` (the record or the code is at fault): given up at once. Retrying
  cannot help and would repeat whatever the work did before it raised.
- ``REJECTED`` (a backend answered with an error): tried up to
  ``policy.max_attempts`` times, with backoff, then given up.
- ``TRANSIENT`` (a backend does not answer): retried with backoff for as long
  as the backend stays down. After each such failure the backends' health
  probe is asked; a record that failed ``max_attempts`` times in a row while
  the probe said the backends answer, for at least ``policy.min_give_up_s``
  since the first of those failures, is itself the problem and is given up.
  Otherwise the loop keeps waiting on the same record (order kept, nothing
  skipped).

"Given up" means the caller's ``give_up(reason)`` dead-letters the record;
the loop then goes on with the next record. A ``give_up`` that raises is tried
again with backoff until it succeeds; if the loop stops first the outcome is
``STOPPED`` (the record is not committed, so it is redelivered). A guard belongs to one loop
thread; its counters are read by metrics without a lock (plain ints).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

from livecore.faults import Fault, RetryPolicy, classify, describe
from livecore.retry import RetryStopped, retry

log = logging.getLogger(__name__)


class RecordOutcome(enum.Enum):
    """How ``RecordGuard.run`` ended for one record; the loop commits unless STOPPED."""

    DONE = "done"
    DEAD_LETTERED = "dead_lettered"
    STOPPED = "stopped"  # the loop is stopping while the record waits on a backend


def backends_answer(*pings: Callable[[], object]) -> Callable[[], bool]:
    """A health probe: True when every ``ping`` returns without raising."""

    def probe() -> bool:
        for ping in pings:
            try:
                ping()
            except Exception as exc:
                log.info("health probe: %s", describe(exc, 200))
                return False
        return True

    return probe


def always_answer() -> bool:
    """The probe of a loop with no backend of its own."""
    return True


def wait_while(should_run: Callable[[], bool], slice_s: float = 0.05) -> Callable[[float], bool]:
    """A ``wait(seconds) -> stopping`` built from a run flag, checked every ``slice_s``."""

    def wait(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while should_run():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(slice_s, left))
        return True

    return wait


class RecordGuard:
    """Runs one record's work under the retry policy; counts what happened."""

    def __init__(
        self,
        *,
        label: str,
        policy: RetryPolicy,
        probe: Callable[[], bool],
        wait: Callable[[float], bool],
        alive: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._policy = policy
        self._probe = probe
        self._wait = wait
        self._alive = alive or (lambda: None)
        self._clock = clock
        self.failures = 0  # tries that raised
        self.retries = 0  # tries repeated after a failure
        self.dead_lettered = 0  # records given up
        self.give_up_failures = 0  # give-ups that raised (and were tried again)

    def run(self, work: Callable[[], None], give_up: Callable[[str], None], what: str) -> RecordOutcome:
        """Do ``work`` until it succeeds, is given up (``give_up(reason)`` called) or
        the loop stops. ``what`` names the record in logs."""
        try:
            work()  # the hot path: no retry machinery unless the first try fails
            return RecordOutcome.DONE
        except Exception as exc:
            first: Exception | None = exc

        def again() -> None:
            """Try 1 is the failure above; later tries run ``work``."""
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed
            work()

        return self._retry(again, give_up, what)

    def _retry(self, work: Callable[[], None], give_up: Callable[[str], None], what: str) -> RecordOutcome:
        healthy = 0  # transient failures in a row while the backends answered
        healthy_since = 0.0  # clock() at the first of them
        reason = ""

        def retry_on(exc: Exception, attempt: int) -> bool:
            nonlocal healthy, healthy_since, reason
            self.failures += 1
            fault = classify(exc)
            if fault is Fault.TRANSIENT:
                healthy = healthy + 1 if self._probe() else 0
                if healthy == 1:
                    healthy_since = self._clock()
            if self._must_give_up(fault, attempt, healthy, self._clock() - healthy_since):
                tries = f" (after {attempt} tries)" if attempt > 1 else ""
                log.error("%s: %s failed%s, dead-lettered", self._label, what, tries, exc_info=exc)
                reason = f"{fault.value}: {describe(exc)}{tries}"
                return False
            if attempt == 1:
                log.warning("%s: %s failed (%s), retrying", self._label, what, fault.value, exc_info=exc)
            else:
                log.warning("%s: %s failed again (try %d): %s", self._label, what, attempt, describe(exc, 200))
            self.retries += 1
            return True

        try:
            retry(work, retry_on=retry_on, backoff=self._policy.backoff, wait=self._pause)
            return RecordOutcome.DONE
        except RetryStopped:
            return RecordOutcome.STOPPED
        except Exception:
            if not reason:  # not given up: retry_on itself raised
                raise
            self.dead_lettered += 1
            return self._give_up(give_up, reason, what)

    def given_up(self, what: str, exc: Exception) -> str:
        """Count a record the loop gives up on without running it here (it has no
        backend to wait for, or the work must not be repeated); log it and return the
        dead-letter reason. The counters change only through the guard."""
        self.failures += 1
        self.dead_lettered += 1
        log.error("%s: %s failed, dead-lettered", self._label, what, exc_info=exc)
        return f"{classify(exc).value}: {describe(exc)}"

    def _must_give_up(self, fault: Fault, attempt: int, healthy: int, healthy_for_s: float) -> bool:
        if fault is Fault.DEFECT:
            return True
        if fault is Fault.REJECTED:
            return attempt >= self._policy.max_attempts
        return healthy > 0 and self._policy.transient_exhausted(healthy, healthy_for_s)

    def _give_up(self, give_up: Callable[[str], None], reason: str, what: str) -> RecordOutcome:
        """Dead-letter; a give-up that raises is tried again (never skipped)."""

        def retry_on(exc: Exception, attempt: int) -> bool:
            self.give_up_failures += 1
            log.error(
                "%s: the dead letter of %s could not be written (try %d)", self._label, what, attempt, exc_info=exc
            )
            return True

        try:
            retry(lambda: give_up(reason), retry_on=retry_on, backoff=self._policy.backoff, wait=self._pause)
            return RecordOutcome.DEAD_LETTERED
        except RetryStopped:
            return RecordOutcome.STOPPED

    def _pause(self, seconds: float) -> bool:
        """The loop's wait between tries, with its liveness stamped on both sides;
        True when the loop is stopping."""
        self._alive()
        if self._wait(seconds):
            return True
        self._alive()
        return False
