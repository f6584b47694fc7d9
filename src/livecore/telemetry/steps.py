"""Milliseconds per step of one operation, for its log line (a load: restored,
partitions read, first snapshot): where a slow one spent its time."""

from __future__ import annotations

import time
from collections.abc import Callable


class StepTimer:
    """``mark(step)`` at the end of each step; ``str()`` gives the total and each step."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start = self._last = clock()
        self._spent: list[str] = []

    def mark(self, step: str) -> None:
        now = self._clock()
        self._spent.append(f"{step} {(now - self._last) * 1000:.0f}")
        self._last = now

    def __str__(self) -> str:
        return f"{(self._last - self._start) * 1000:.0f} ms ({', '.join(self._spent)})"
