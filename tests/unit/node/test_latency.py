import itertools
import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from livecore.node.latency import BUCKETS, TICK_TO_ORDER, LatencyRecorder, histogram_quantile


def recorder(node_id: str = "n1", registry: CollectorRegistry | None = None) -> LatencyRecorder:
    return LatencyRecorder(node_id, registry=registry or CollectorRegistry())


def test_quantiles_fall_in_the_bucket_of_the_true_value() -> None:
    latency = recorder()
    assert latency.quantile(0.5) is None
    for micros in range(1, 1001):  # 1 us .. 1 ms, uniformly
        latency.record(micros * 1000)
    assert latency.count == 1000
    p50, p99 = latency.quantile(0.5), latency.quantile(0.99)
    assert p50 is not None and p99 is not None
    assert 300e-6 <= p50 <= 700e-6  # the true 500 us lies in the (300 us, 500 us] .. (500 us, 700 us] buckets
    assert 700e-6 <= p99 <= 1e-3
    assert math.isclose(p99, 0.0007 + 0.0003 * (990 - 700) / 300)  # interpolated within (700 us, 1 ms]


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
    assert list(BUCKETS) == sorted(BUCKETS)
    assert all(b / a <= 2.0 + 1e-9 for a, b in itertools.pairwise(BUCKETS))


def test_two_nodes_in_one_process_are_two_series_of_one_family() -> None:
    registry = CollectorRegistry()
    first, second = recorder("n1", registry), recorder("n2", registry)
    first.record(200_000)
    second.record(3_000_000)
    second.record(3_000_000)
    assert (first.count, second.count) == (1, 2)
    text = generate_latest(registry).decode()
    assert f"# TYPE {TICK_TO_ORDER} histogram" in text
    assert f'{TICK_TO_ORDER}_count{{node="n1"}} 1.0' in text
    assert f'{TICK_TO_ORDER}_count{{node="n2"}} 2.0' in text


def test_a_new_node_of_the_same_id_and_reset_start_over() -> None:
    registry = CollectorRegistry()
    old = recorder("n1", registry)
    old.record(5_000)
    new = recorder("n1", registry)
    assert new.count == 0
    new.record(7_000)
    new.reset()
    assert new.count == 0 and new.quantile(0.5) is None
    new.record(7_000)
    assert new.count == 1
    assert f'{TICK_TO_ORDER}_count{{node="n1"}} 1.0' in generate_latest(registry).decode()


def test_the_default_registry_exports_it() -> None:
    from prometheus_client import REGISTRY

    latency = LatencyRecorder("test-default-registry")
    latency.record(1_000_000)
    assert 'node="test-default-registry"' in generate_latest(REGISTRY).decode()
