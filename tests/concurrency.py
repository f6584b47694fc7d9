"""Run one action in many threads released at the same instant, for race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def race(count: int, action: Callable[[int], T], barrier_timeout: float = 10.0, join_timeout: float = 60.0) -> list[T]:
    """Run ``action(i)`` in ``count`` threads released together; results by index.
    Any exception in any thread fails the caller's test."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=barrier_timeout)
            results[i] = action(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not errors, errors
    return results  # type: ignore[return-value]
