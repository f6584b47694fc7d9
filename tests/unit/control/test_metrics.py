"""The node metrics hash as one struct: the strings on the wire, and tolerant reading."""

from __future__ import annotations

import pytest

from livecore.control.metrics import NodeMetrics

# a hash as nodes have always written it (the seed's fields, ours, loop counters, bus health)
WIRE = {
    "portfolio_count": "2",
    "queue_size": "1.50",
    "cpu_usage": "12.3",
    "memory_usage": "104857600",
    "total_events": "42",
    "backpressure_count": "1",
    "dropped_events": "0",
    "portfolios": '{"a": 3, "b": 1}',
    "state": "running",
    "started_at": "2026-01-01T00:00:00+00:00",
    "capacity": "100",
    "updated_at": "2026-01-01T00:00:01+00:00",
    "faulted": "0",
    "dead_letters": "4",
    "market_data_offer_errors": "0",
    "schedule_updates_failed": "1",
    "market_data_retries": "7",
    "bus_ok": "0",
    "bus_reason": "broker down",
    "bus_since_ns": "5",
}


def test_the_hash_reads_into_the_struct_and_writes_back_the_same_strings() -> None:
    metrics = NodeMetrics.from_hash(WIRE)
    assert metrics.portfolios == {"a": 3, "b": 1}
    assert metrics.queue_size == 1.5 and metrics.cpu_usage == 12.3
    assert metrics.count("dead_letters") == 4 and metrics.count("schedule_updates_failed") == 1
    assert metrics.to_hash() == WIRE


def test_floats_are_written_with_their_fixed_decimals() -> None:
    fields = NodeMetrics(queue_size=0.0, cpu_usage=3.14159, portfolios={"b": 1, "a": 2}).to_hash()
    assert fields == {"queue_size": "0.00", "cpu_usage": "3.1", "portfolios": '{"a": 2, "b": 1}'}


def test_absent_or_unreadable_fields_are_unknown() -> None:
    metrics = NodeMetrics.from_hash({"capacity": "x", "portfolios": "[1]", "total_events": "inf", "other": "1"})
    assert metrics == NodeMetrics()
    assert metrics.bus_health("n1") is None


def test_bus_health_is_read_from_the_hash() -> None:
    health = NodeMetrics.from_hash(WIRE).bus_health("n1")
    assert health is not None and not health.ok
    assert (health.process, health.reason, health.since_ns, health.lost_records) == ("n1", "broker down", 5, None)


def test_fields_set_by_hash_name_and_unknown_names_refused() -> None:
    metrics = NodeMetrics().with_fields({"market_data_offer_errors": 2, "order_feedback_errors": 3})
    assert metrics.to_hash() == {"market_data_offer_errors": "2", "order_feedback_errors": "3"}
    with pytest.raises(KeyError):
        NodeMetrics().with_fields({"no_such_field": 1})


def test_a_nanosecond_timestamp_is_read_exactly() -> None:
    ts = 1_796_106_620_395_847_723  # beyond a float's 53 bits
    assert NodeMetrics.from_hash(NodeMetrics(market_time_ns=ts).to_hash()).market_time_ns == ts
    assert NodeMetrics.from_hash({"capacity": "3.0"}).capacity == 3
