"""A fixed-size record of recent in-node latencies (tick received -> order handed
to the producer), cheap enough for the hot path; percentiles on demand.

The ring is one preallocated array of 64-bit integers (512 KiB for the default
65,536 samples), so the recorder's memory is fixed from the start instead of
growing, as a list of Python ints would, by ~40 bytes a sample until it is full.
"""

from __future__ import annotations

import threading
from array import array


class LatencyRecorder:
    def __init__(self, size: int = 65_536) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._size = size
        self._samples = array("q", bytes(8 * size))
        self._kept = 0
        self._next = 0
        self._lock = threading.Lock()
        self.count = 0

    def record(self, nanos: int) -> None:
        with self._lock:
            self._samples[self._next] = nanos
            self._next = (self._next + 1) % self._size
            if self._kept < self._size:
                self._kept += 1
            self.count += 1

    def percentile(self, fraction: float) -> int | None:
        """The ``fraction`` quantile (0..1) of the kept samples in ns, None if empty."""
        with self._lock:
            ordered = sorted(self._samples[: self._kept])
        if not ordered:
            return None
        index = min(len(ordered) - 1, int(fraction * len(ordered)))
        return ordered[index]

    def reset(self) -> None:
        with self._lock:
            self._kept = 0
            self._next = 0
            self.count = 0
