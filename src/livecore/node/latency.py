"""A fixed-size record of recent in-node latencies (tick received -> order handed
to the producer), cheap enough for the hot path; percentiles on demand."""

from __future__ import annotations

import threading


class LatencyRecorder:
    def __init__(self, size: int = 65_536) -> None:
        self._size = size
        self._samples: list[int] = []
        self._next = 0
        self._lock = threading.Lock()
        self.count = 0

    def record(self, nanos: int) -> None:
        with self._lock:
            if len(self._samples) < self._size:
                self._samples.append(nanos)
            else:
                self._samples[self._next] = nanos
                self._next = (self._next + 1) % self._size
            self.count += 1

    def percentile(self, fraction: float) -> int | None:
        """The ``fraction`` quantile (0..1) of the kept samples in ns, None if empty."""
        with self._lock:
            ordered = sorted(self._samples)
        if not ordered:
            return None
        index = min(len(ordered) - 1, int(fraction * len(ordered)))
        return ordered[index]

    def reset(self) -> None:
        with self._lock:
            self._samples = []
            self._next = 0
            self.count = 0
