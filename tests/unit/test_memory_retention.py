"""Retention of the in-process bus: bounded by bytes and age, offsets monotonic,
and a consumer that falls behind is told how much it lost."""

from __future__ import annotations

import logging
import uuid

import pytest

from livecore.adapters.factory import open_bus
from livecore.adapters.memory_bus import MemoryBus, MemoryBusSettings
from livecore.adapters.memory_log import HOLD_LIMIT, RECORD_OVERHEAD, PartitionLog, parse_memory_url
from livecore.errors import ConfigError
from livecore.ports.bus import Record, TopicPartition

VALUE = b"x" * 100
SIZE = len(VALUE) + 1 + RECORD_OVERHEAD  # one-byte key


def _record(offset: int, ts_ms: int = 0) -> Record:
    return Record("t", 0, offset, b"k", VALUE, ts_ms)


def test_log_keeps_within_its_byte_budget_and_offsets_move_forward() -> None:
    log = PartitionLog(budget=10 * SIZE, max_age_ms=10**9)
    for offset in range(1000):
        log.append(_record(offset))
        assert log.bytes <= 10 * SIZE
        assert log.end == offset + 1
    assert len(log) == 10
    assert log.start == 990
    assert [r.offset for r in log.read(990, 100)] == list(range(990, 1000))
    assert len(log.records) <= 10 + 10 * 16  # the trimmed prefix is compacted away


def test_log_drops_records_older_than_the_age_limit() -> None:
    log = PartitionLog(budget=10**9, max_age_ms=1000)
    for offset in range(5):
        log.append(_record(offset, ts_ms=offset * 100))
    log.append(_record(5, ts_ms=1250))  # 0, 100 and 200 are now older than 1250 - 1000
    assert log.start == 3
    assert [r.offset for r in log.read(3, 10)] == [3, 4, 5]


def test_log_keeps_the_newest_record_even_when_it_exceeds_the_budget() -> None:
    log = PartitionLog(budget=10, max_age_ms=1)
    log.append(_record(0))
    log.append(_record(1, ts_ms=10_000))
    assert len(log) == 1 and log.start == 1


def test_topic_budget_is_split_among_its_partitions() -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=40 * SIZE))
    bus.create_topics({"t": 4})
    producer = bus.producer()
    for _ in range(1000):
        producer.publish("t", None, VALUE + b"x")  # None key: 0-byte key, 1 more value byte
    consumer = bus.consumer("g", ["t"], "earliest")
    assert len(consumer.poll(max_records=10_000, timeout=0)) == 40


def test_earliest_consumer_behind_retention_resumes_at_log_start_and_counts_the_loss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=16 * SIZE))
    bus.create_topics({"t": 1})
    producer = bus.producer()
    consumer = bus.consumer("g", ["t"], "earliest")
    assert consumer.lost_records() == 0
    for _ in range(100):
        producer.publish("t", "k", VALUE)
    with caplog.at_level(logging.WARNING, logger="livecore.bus"):
        records = consumer.poll(max_records=1000, timeout=0)
    held = 16 * HOLD_LIMIT  # the live earliest group holds its records up to the hard limit
    assert [r.offset for r in records] == list(range(100 - held, 100))
    assert consumer.lost_records() == 100 - held
    assert f"{100 - held} records lost" in caplog.text and "t[0]" in caplog.text
    consumer.commit()
    assert consumer.committed([TopicPartition("t", 0)]) == {TopicPartition("t", 0): 100}


def test_latest_consumer_behind_retention_jumps_to_the_end_and_counts_every_skipped_record() -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=16 * SIZE))
    bus.create_topics({"t": 1})
    producer = bus.producer()
    consumer = bus.consumer("g", ["t"], "latest")
    producer.publish("t", "k", VALUE)
    assert [r.offset for r in consumer.poll(timeout=0)] == [0]
    for _ in range(99):
        producer.publish("t", "k", VALUE)
    assert consumer.poll(timeout=0) == []
    assert consumer.lost_records() == 99  # offsets 1..99: 83 deleted, 16 skipped past
    producer.publish("t", "k", VALUE)
    assert [r.offset for r in consumer.poll(timeout=0)] == [100]


def test_a_committed_offset_deleted_by_retention_is_reported_to_the_next_member() -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=16 * SIZE))
    bus.create_topics({"t": 1})
    producer = bus.producer()
    first = bus.consumer("g", ["t"], "earliest")
    producer.publish("t", "k", VALUE)
    first.poll(timeout=0)
    first.commit()
    first.close()
    for _ in range(50):
        producer.publish("t", "k", VALUE)
    second = bus.consumer("g", ["t"], "earliest")
    assert [r.offset for r in second.poll(max_records=100, timeout=0)] == list(range(35, 51))
    assert second.lost_records() == 34


def test_seek_below_the_log_start_is_out_of_range_too() -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=4 * SIZE))
    bus.create_topics({"t": 1})
    producer = bus.producer()
    for _ in range(10):
        producer.publish("t", "k", VALUE)
    consumer = bus.consumer("g", ["t"], "earliest")
    consumer.poll(timeout=0)
    consumer.seek(TopicPartition("t", 0), 0)
    assert [r.offset for r in consumer.poll(timeout=0)] == [6, 7, 8, 9]
    assert consumer.lost_records() == 6


def test_a_consumer_within_retention_loses_nothing() -> None:
    bus = MemoryBus(settings=MemoryBusSettings(retention_bytes=16 * SIZE))
    bus.create_topics({"t": 1})
    producer = bus.producer()
    consumer = bus.consumer("g", ["t"], "earliest")
    seen: list[int] = []
    for _ in range(20):
        for _ in range(10):
            producer.publish("t", "k", VALUE)
        seen += [r.offset for r in consumer.poll(max_records=1000, timeout=0)]
    assert seen == list(range(200))
    assert consumer.lost_records() == 0


def test_url_parameters_set_retention() -> None:
    name, settings = parse_memory_url("memory://x?retention_bytes=1000&retention_ms=500&partitions=2")
    assert name == "memory://x"
    assert settings == MemoryBusSettings(default_partitions=2, retention_bytes=1000, retention_ms=500)
    assert parse_memory_url("memory://") == ("memory://", None)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("retention=5", "unknown parameter 'retention'"),
        ("retention_ms=1&retention_ms=2", "given twice"),
        ("retention_bytes=lots", "retention_bytes='lots'"),
        ("retention_ms=0", "retention_ms='0'"),
    ],
)
def test_bad_url_parameters_are_config_errors(query: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_bus(f"memory://{uuid.uuid4().hex}?{query}")


def test_named_bus_takes_settings_from_its_first_url_and_refuses_different_ones() -> None:
    name = f"memory://{uuid.uuid4().hex}"
    bus = open_bus(f"{name}?retention_bytes=4096")
    assert bus is MemoryBus.named(name)
    assert isinstance(bus, MemoryBus) and bus.settings.retention_bytes == 4096
    assert MemoryBus.named(f"{name}?retention_bytes=4096") is bus
    with pytest.raises(ConfigError, match="already exists"):
        MemoryBus.named(f"{name}?retention_bytes=8192")
