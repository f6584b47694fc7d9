"""What only the in-process bus promises beyond the shared contract."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from livecore.adapters.memory_bus import MemoryBus, MemoryBusSettings
from livecore.ports.bus import BusError, Delivery, TopicPartition


def test_named_buses_are_shared_per_name() -> None:
    name = f"memory://{uuid.uuid4().hex}"
    assert MemoryBus.named(name) is MemoryBus.named(name)
    assert MemoryBus.named(name) is not MemoryBus.named(name + "x")
    assert MemoryBus.named(name).url == name


def test_unknown_topic_is_created_with_default_partitions() -> None:
    bus = MemoryBus(settings=MemoryBusSettings(default_partitions=3))
    bus.producer().publish_sync("auto", "k", b"v")
    assert bus.partitions("auto") == 3
    consumer = bus.consumer("g", ["subscribed-first"])
    assert len(consumer.assignment()) == 3


def test_none_key_goes_round_robin() -> None:
    bus = MemoryBus()
    bus.create_topics({"t": 4})
    producer = bus.producer()
    spread = Counter(producer.publish_sync("t", None, b"v").partition for _ in range(8))
    assert spread == {0: 2, 1: 2, 2: 2, 3: 2}


def test_callbacks_run_from_poll_not_inside_publish() -> None:
    bus = MemoryBus()
    producer = bus.producer()
    reports: list[Delivery] = []
    producer.publish("t", "k", b"v", reports.append)
    assert reports == []
    producer.poll()
    assert [r.offset for r in reports] == [0]


def test_poll_wakes_when_another_thread_publishes() -> None:
    bus = MemoryBus()
    bus.create_topics({"t": 1})
    consumer = bus.consumer("g", ["t"])
    started = threading.Event()

    def publish_later() -> None:
        started.wait(5)
        bus.producer().publish("t", "k", b"hello")

    thread = threading.Thread(target=publish_later)
    thread.start()
    started.set()
    records = consumer.poll(timeout=10)
    thread.join()
    assert [r.value for r in records] == [b"hello"]


def test_poll_returns_empty_after_timeout() -> None:
    consumer = MemoryBus().consumer("g", ["t"])
    assert consumer.poll(timeout=0.01) == []


def test_max_records_is_honoured_and_partitions_take_turns() -> None:
    bus = MemoryBus()
    bus.create_topics({"t": 2})
    producer = bus.producer()
    for i in range(20):
        producer.publish("t", None, str(i).encode())
    consumer = bus.consumer("g", ["t"], "earliest")
    first = consumer.poll(max_records=5, timeout=0)
    second = consumer.poll(max_records=5, timeout=0)
    assert len(first) == len(second) == 5
    assert first[0].partition != second[0].partition


def test_members_with_different_subscriptions_split_only_their_topics() -> None:
    bus = MemoryBus()
    bus.create_topics({"a": 2, "b": 2})
    only_a = bus.consumer("g", ["a"])
    both = bus.consumer("g", ["a", "b"])
    assert only_a.assignment() == {TopicPartition("a", 0)}
    assert both.assignment() == {TopicPartition("a", 1), TopicPartition("b", 0), TopicPartition("b", 1)}
    only_a.close()
    assert len(both.assignment()) == 4


def test_commit_of_a_partition_owned_by_another_member_is_ignored() -> None:
    bus = MemoryBus()
    bus.create_topics({"t": 2})
    producer = bus.producer()
    for i in range(10):
        producer.publish("t", None, str(i).encode())
    first = bus.consumer("g", ["t"], "earliest")
    records = first.poll(timeout=0)
    second = bus.consumer("g", ["t"], "earliest")
    first.commit(records)
    moved = second.assignment()
    assert first.committed(list(moved)) == dict.fromkeys(moved)


def test_misuse_raises_bus_error() -> None:
    bus = MemoryBus()
    consumer = bus.consumer("g", ["t"])
    with pytest.raises(BusError, match="not assigned"):
        consumer.seek(TopicPartition("other", 0), 0)
    consumer.close()
    with pytest.raises(BusError, match="closed"):
        consumer.poll(timeout=0)
    producer = bus.producer()
    producer.close()
    with pytest.raises(BusError, match="closed"):
        producer.publish("t", None, b"v")
    with pytest.raises(BusError, match="partition count"):
        bus.create_topics({"bad": 0})


def test_rebalance_redelivers_uncommitted_records_to_a_member_that_keeps_its_partition() -> None:
    bus = MemoryBus()
    bus.create_topics({"a": 1, "b": 1})
    stays = bus.consumer("g", ["a"], "earliest")
    bus.producer().publish("a", "k", b"first")
    assert [r.value for r in stays.poll(timeout=0)] == [b"first"]
    bus.consumer("g", ["b"])  # joins the group: everyone's partitions restart at commits
    assert [r.value for r in stays.poll(timeout=0)] == [b"first"]
    stays.commit()
    bus.consumer("g", ["b"])
    assert stays.poll(timeout=0) == []
