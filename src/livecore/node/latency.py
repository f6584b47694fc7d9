"""In-node tick -> order latency (record polled -> order handed to the producer)
as a Prometheus histogram, cheap enough for the hot path.

One histogram family, ``livecore_tick_to_order_seconds`` with a ``node`` label,
is registered once per registry (the process's default registry unless told
otherwise), so a process exports it with its other metrics and the two nodes
of ``livecore run`` are two series of one family. A node's series starts over
when a node of that id is created in the process (counts since its start).

Buckets run from 10 us to 10 s in steps of 1-2-3-5-7 per decade: fine enough
that a quantile interpolated within a bucket is off by less than the bucket's
width (at most x2, typically x1.5) from sub-millisecond to seconds. Memory is
fixed: 32 counters a node, whatever the number of observations.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

TICK_TO_ORDER = "livecore_tick_to_order_seconds"
_HELP = "Tick received -> order handed to the producer, in the node (seconds)."
BUCKETS: tuple[float, ...] = (
    *(round(m * 10.0**e, 12) for e in range(-5, 1) for m in (1, 2, 3, 5, 7)),
    10.0,
)

_families: weakref.WeakKeyDictionary[CollectorRegistry, Histogram] = weakref.WeakKeyDictionary()
_families_lock = threading.Lock()


def _family(registry: CollectorRegistry) -> Histogram:
    """The one labelled histogram of ``registry`` (registering twice would raise)."""
    with _families_lock:
        family = _families.get(registry)
        if family is None:
            family = Histogram(TICK_TO_ORDER, _HELP, ["node"], registry=registry, buckets=BUCKETS)
            _families[registry] = family
        return family


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


class LatencyRecorder:
    """One node's series of the tick -> order histogram."""

    def __init__(self, node_id: str, registry: CollectorRegistry = REGISTRY) -> None:
        self._node_id = node_id
        self._family = _family(registry)
        self._series = self._fresh()

    def _fresh(self) -> Histogram:
        with contextlib.suppress(KeyError):
            self._family.remove(self._node_id)
        return self._family.labels(node=self._node_id)

    def record(self, nanos: int) -> None:
        self._series.observe(nanos / 1e9)

    def _buckets(self) -> tuple[list[tuple[float, float]], float]:
        """Cumulative ``(upper bound, count)`` of this series (+Inf last), and its count."""
        buckets: list[tuple[float, float]] = []
        count = 0.0
        for metric in self._series.collect():
            for sample in metric.samples:
                if sample.name.endswith("_bucket"):
                    buckets.append((float(sample.labels["le"]), sample.value))
                elif sample.name.endswith("_count"):
                    count = sample.value
        return buckets, count

    @property
    def count(self) -> int:
        """Observations since the node started (or the last ``reset``)."""
        return int(self._buckets()[1])

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in seconds, interpolated within buckets like PromQL's
        ``histogram_quantile``; None before the first observation."""
        return histogram_quantile(q, self._buckets()[0])

    def reset(self) -> None:
        """Start the series over (a benchmark between two runs)."""
        self._series = self._fresh()
