"""The one retry loop: try, and after a failure that may clear by itself, pause
and try again, until the work succeeds, the failure is not one to retry, the
time allowed is over, or the caller stops.

What is worth retrying, how long to keep at it and what to log or count stay
with each caller (``retry_on``); the loop, the attempt counting and the backoff
arithmetic are here only. The clock and the pause are passed in, so the loop
runs on a fake clock in tests, and a stopping service's wait (an
``Event.wait``) ends it at once. Pure: no I/O of its own, no driver imports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class RetryStopped(Exception):
    """The caller's wait said it is stopping before the work succeeded."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"stopped after {attempts} tries")
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses that double from ``first_s`` up to ``max_s``; equal bounds give a fixed pause."""

    first_s: float
    max_s: float

    def __post_init__(self) -> None:
        if self.first_s < 0 or self.max_s < self.first_s:
            raise ValueError("need 0 <= first_s <= max_s")

    def pause(self, attempt: int) -> float:
        """The pause after failed try number ``attempt`` (1-based)."""
        return float(min(self.max_s, self.first_s * (2 ** min(attempt - 1, 30))))


def sleeping(seconds: float) -> bool:
    """A pause that never stops early (``time.sleep``)."""
    time.sleep(seconds)
    return False


def retry(
    work: Callable[[], T],
    *,
    retry_on: Callable[[Exception, int], bool],
    backoff: Callable[[int], float],
    give_up_after_s: float | None = None,
    wait: Callable[[float], bool] = sleeping,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``work`` until it returns, and return what it returns.

    When try number ``attempt`` raises ``exc``: re-raise ``exc`` once more than
    ``give_up_after_s`` seconds have passed since the first try, or when
    ``retry_on(exc, attempt)`` is false (the caller logs and counts there);
    otherwise ``wait(backoff(attempt))`` and try again. A ``wait`` that returns
    True (the caller is stopping) raises ``RetryStopped``."""
    deadline = None if give_up_after_s is None else clock() + give_up_after_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return work()
        except Exception as exc:
            if deadline is not None and clock() > deadline:
                raise
            if not retry_on(exc, attempt):
                raise
        if wait(backoff(attempt)):
            raise RetryStopped(attempt)
