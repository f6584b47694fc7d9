import itertools
import math
import random
import threading

import pytest

from livecore.node.latency import BUCKETS, LatencyRecorder
from livecore.telemetry.histogram import Histogram, histogram_quantile


def test_quantiles_fall_in_the_bucket_of_the_true_value() -> None:
    latency = LatencyRecorder()
    assert latency.quantile(0.5) is None
    for micros in range(1, 1001):  # 1 us .. 1 ms, uniformly
        latency.record(micros * 1000)
    assert latency.count == 1000
    p50, p99 = latency.quantile(0.5), latency.quantile(0.99)
    assert p50 is not None and p99 is not None
    assert 300e-6 <= p50 <= 700e-6  # the true 500 us lies in the (300 us, 500 us] .. (500 us, 700 us] buckets
    assert 700e-6 <= p99 <= 1e-3
    assert math.isclose(p99, 0.0007 + 0.0003 * (990 - 700) / 300)  # interpolated within (700 us, 1 ms]


def test_nanoseconds_in_seconds_out() -> None:
    latency = LatencyRecorder(single_writer=True)
    latency.record(10_000)  # exactly the first bound, 10 us: counted in it (le)
    latency.record(2_500_000)
    snapshot = latency.snapshot()
    assert snapshot.bounds == BUCKETS
    assert snapshot.cumulative[0] == 1 and snapshot.count == 2
    assert math.isclose(snapshot.sum, 0.00251)
    assert snapshot.buckets()[-1] == (math.inf, 2.0)


def test_a_negative_age_counts_as_zero() -> None:
    ages = LatencyRecorder(single_writer=True)
    ages.record(-5_000_000)  # an event stamped ahead of this host's clock
    snapshot = ages.snapshot()
    assert snapshot.cumulative[0] == 1 and snapshot.sum == 0


def test_interpolation_is_promql_histogram_quantile() -> None:
    buckets = [(1.0, 10.0), (2.0, 30.0), (4.0, 40.0), (math.inf, 40.0)]
    assert histogram_quantile(0.25, buckets) == 1.0  # rank 10: the top of the first bucket
    assert histogram_quantile(0.5, buckets) == 1.5  # rank 20: half way through (1, 2]
    assert histogram_quantile(0.0, buckets) == 0.0  # the first bucket starts at 0
    assert histogram_quantile(1.0, buckets) == 4.0
    # a rank in the +Inf bucket answers the largest finite bound
    assert histogram_quantile(0.99, [(1.0, 1.0), (math.inf, 5.0)]) == 1.0
    assert histogram_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]) is None
    with pytest.raises(ValueError):
        histogram_quantile(1.5, buckets)


def test_buckets_span_sub_millisecond_to_seconds() -> None:
    assert BUCKETS[0] == 1e-5 and BUCKETS[-1] == 10.0
    assert len(BUCKETS) == 31
    assert list(BUCKETS) == sorted(BUCKETS)
    assert all(b / a <= 2.0 + 1e-9 for a, b in itertools.pairwise(BUCKETS))


def test_reset_starts_over() -> None:
    latency = LatencyRecorder()
    latency.record(7_000)
    latency.reset()
    assert latency.count == 0 and latency.quantile(0.5) is None
    latency.record(7_000)
    assert latency.count == 1


def test_concurrent_writers_lose_no_observation() -> None:
    latency = LatencyRecorder()
    per_thread = 20_000

    def observe() -> None:
        for i in range(per_thread):
            latency.record(i * 1000)

    threads = [threading.Thread(target=observe) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert latency.count == 4 * per_thread


def test_bounds_must_increase() -> None:
    with pytest.raises(ValueError):
        Histogram((1.0, 1.0))
    with pytest.raises(ValueError):
        Histogram(())
    with pytest.raises(ValueError):
        Histogram((1.0, math.inf))


@pytest.mark.parametrize("single_writer", [True, False])
@pytest.mark.parametrize("size", [0, 5, 31, 32, 1000])
def test_a_batch_counts_as_its_values_one_by_one(single_writer: bool, size: int) -> None:
    rng = random.Random(size)
    values = [int(10 ** rng.uniform(3, 10.5)) * rng.choice((1, 1, 1, -1)) for _ in range(size)]
    values += [10_000, 20_000_000] if size else []  # on a bound: counted in it
    one_by_one, batched = LatencyRecorder(single_writer=single_writer), LatencyRecorder(single_writer=single_writer)
    for value in values:
        one_by_one.record(value)
    batched.observe_many(list(values))
    assert batched.snapshot() == one_by_one.snapshot()
