"""Fixed-bucket histograms cheap enough for a hot path, exported as Prometheus
histograms at scrape time.

prometheus_client's ``Histogram`` takes a lock for the bucket and one for the
sum and scans the bounds on every observation; the node observes the age of
every market event it takes, so these do one bisect and, when several threads
observe the same histogram, one lock (``bench/bench_latency.py``). They are
plain objects: nothing is registered anywhere. A service owns its histograms
as it owns its counters, and ``telemetry.export`` reads them at scrape time.

Observations may be in a finer unit than the exported one: with
``unit=NANOSECONDS`` a hot path records integer nanoseconds without dividing,
and the bounds, the sum and the quantiles are in seconds (the base unit).
"""

from __future__ import annotations

import itertools
import math
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

NANOSECONDS = 1e-9
_SORT_FROM = 32  # a batch this large is sorted and cut at the bounds, rather than bisected value by value


def decades(first: int, last: int, steps: Iterable[float] = (1, 2, 3, 5, 7)) -> tuple[float, ...]:
    """Bounds ``m * 10**e`` for ``e`` in ``first .. last - 1`` and ``m`` in ``steps``,
    then ``10**last``: 1-2-3-5-7 per decade by default, so a quantile interpolated
    within a bucket is off by less than the bucket's width (at most x2)."""
    steps = tuple(steps)
    return (*(round(m * 10.0**e, 12) for e in range(first, last) for m in steps), round(10.0**last, 12))


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (0..1) of cumulative ``(upper bound, count)`` buckets, +Inf
    last, as PromQL's ``histogram_quantile`` computes it: linear interpolation
    within the bucket the rank falls in (from 0 for the first bucket); a rank in
    the +Inf bucket gives the largest finite bound. None when there is no sample."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within 0..1")
    if len(buckets) < 2 or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    upper, count = buckets[index]
    lower, below = buckets[index - 1] if index > 0 else (0.0, 0.0)
    if count == below:
        return upper
    return lower + (upper - lower) * (rank - below) / (count - below)


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """A histogram at one moment, in base units: ``cumulative[i]`` observations were
    ``<= bounds[i]``; the last entry (``+Inf``) is the count."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    sum: float

    @property
    def count(self) -> int:
        return self.cumulative[-1]

    def buckets(self) -> list[tuple[float, float]]:
        """Cumulative ``(upper bound, count)`` pairs, ``+Inf`` last."""
        return [(bound, float(n)) for bound, n in zip((*self.bounds, math.inf), self.cumulative, strict=True)]

    def quantile(self, q: float) -> float | None:
        """As PromQL's ``histogram_quantile`` would read it; None before the first observation."""
        return histogram_quantile(q, self.buckets())


class Histogram:
    """Counts per bucket and a sum. ``observe`` takes a lock unless the histogram is
    declared ``single_writer`` (one thread observes, any thread may read: a reader
    copies the counts in one step under the GIL, so its buckets are consistent;
    the sum may be one observation apart). Negative values count as 0 (a clock
    step between two hosts must not make ``_sum`` decrease)."""

    def __init__(self, bounds: Sequence[float], *, unit: float = 1.0, single_writer: bool = False) -> None:
        if not bounds or any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError("bounds must be strictly increasing and not empty")
        if not all(math.isfinite(b) for b in bounds) or unit <= 0:
            raise ValueError("bounds must be finite and unit > 0")
        self.bounds = tuple(float(b) for b in bounds)
        self._unit = unit
        self._raw_bounds = [round(b / unit, 6) for b in self.bounds]
        self._lock = threading.Lock()
        self._counts = [0] * (len(self.bounds) + 1)
        self._sum: float = 0
        self._single_writer = single_writer
        self.observe: Callable[[float], None] = self._observe_alone if single_writer else self._observe_locked

    def _observe_alone(self, value: float) -> None:
        if value < 0:
            value = 0
        self._counts[bisect_left(self._raw_bounds, value)] += 1
        self._sum += value

    def _observe_locked(self, value: float) -> None:
        if value < 0:
            value = 0
        index = bisect_left(self._raw_bounds, value)
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    def observe_many(self, values: list[int] | list[float]) -> None:
        """Observe every value of ``values``, which is sorted in place: a large batch
        costs one sort and a bisect per bound, not a Python call per value (the
        market loop observes each polled batch's event ages at once)."""
        if len(values) < _SORT_FROM:
            for value in values:
                self.observe(value)
            return
        values.sort()
        added: list[int] = []
        below = 0
        for bound in self._raw_bounds:
            upto = bisect_right(values, bound)
            added.append(upto - below)
            below = upto
        added.append(len(values) - below)
        total = sum(values) if values[0] >= 0 else sum(v for v in values if v > 0)
        if self._single_writer:
            self._add(added, total)
        else:
            with self._lock:
                self._add(added, total)

    def _add(self, added: list[int], total: float) -> None:
        counts = self._counts
        for index, n in enumerate(added):
            if n:
                counts[index] += n
        self._sum += total

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            counts = self._counts.copy()
            total = self._sum
        cumulative: list[int] = []
        running = 0
        for n in counts:
            running += n
            cumulative.append(running)
        return HistogramSnapshot(self.bounds, tuple(cumulative), total * self._unit)

    @property
    def count(self) -> int:
        """Observations since creation (or the last ``reset``)."""
        return sum(self._counts.copy())

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in base units, interpolated within buckets like PromQL's
        ``histogram_quantile``; None before the first observation."""
        return self.snapshot().quantile(q)

    def reset(self) -> None:
        """Start over (a benchmark between two runs). Not meant while observing."""
        with self._lock:
            self._counts = [0] * (len(self.bounds) + 1)
            self._sum = 0
