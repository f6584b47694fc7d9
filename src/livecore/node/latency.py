"""The node's latency histograms, in nanoseconds on the hot path and seconds out.

- ``tick -> order``: record polled -> order handed to the producer, observed by
  the worker that ran the portfolio (several threads: locked);
- ``event age``: wall clock when the market loop takes an event minus the
  event's timestamp, observed by the market loop alone (single writer).

Both are ``telemetry.Histogram``s with the same buckets, exported by
``node/telemetry.py`` as ``livecore_tick_to_order_seconds`` and
``livecore_event_age_seconds`` (label ``node``). Buckets run from 10 us to 10 s
in steps of 1-2-3-5-7 per decade: a quantile interpolated within a bucket is
off by less than the bucket's width (at most x2, typically x1.5) from
sub-millisecond to seconds. Memory is fixed: 32 counters a histogram, whatever
the number of observations.
"""

from __future__ import annotations

from livecore.telemetry.histogram import NANOSECONDS, Histogram, decades

BUCKETS: tuple[float, ...] = decades(-5, 1)


class LatencyRecorder(Histogram):
    """A latency histogram fed in nanoseconds (``record``); ``quantile`` in seconds."""

    def __init__(self, *, single_writer: bool = False) -> None:
        super().__init__(BUCKETS, unit=NANOSECONDS, single_writer=single_writer)
        self.record = self.observe
