"""Event time: a clock that reads the data's timestamps instead of the wall's.

A replay in event time (``livecore run --event-time``, ``livecore feed replay
--event-time``) keeps every event's own timestamp. A process that must say
"now" (the gateway stamping an order's acceptance, the node's stale-tick guard)
then reads the latest timestamp it has seen, so every rule that counts time or
days follows the data, exactly as ``livecore backtest`` does.
"""

from __future__ import annotations

import threading


class EventClock:
    """The latest event timestamp observed (ns); never goes back. Thread-safe."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._lock = threading.Lock()

    def observe(self, ts_ns: int) -> None:
        """An event at ``ts_ns`` was seen: time is at least there now."""
        if ts_ns > self._now:
            with self._lock:
                if ts_ns > self._now:
                    self._now = ts_ns

    def __call__(self) -> int:
        return self._now
