"""The Bus contract: every case runs on the in-process bus and on a real Tansu broker.

Each test uses its own topics and groups. Waits loop on ``poll`` until a
condition holds or a deadline passes; "nothing more arrives" is proven with a
marker published to every partition after the fact: per-partition order means
any stray redelivery would arrive before the marker.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest

from livecore.adapters.factory import open_bus
from livecore.ports.bus import Bus, BusError, Consumer, ConsumerSettings, Delivery, Producer, Record, TopicPartition
from livecore.wire.partitioning import partition_of

SETTINGS = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750)
JOIN_TIMEOUT = 30.0
READ_TIMEOUT = 20.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def bus(bus_url: str) -> Iterator[Bus]:
    opened = open_bus(bus_url)
    yield opened
    opened.close()


@pytest.fixture
def producer(bus: Bus) -> Iterator[Producer]:
    made = bus.producer()
    yield made
    made.close()


def poll_until(
    consumers: list[Consumer],
    done: Callable[[list[Record]], bool],
    timeout: float = READ_TIMEOUT,
    what: str = "records",
) -> list[Record]:
    """Poll every consumer in turn, collecting records, until ``done(collected)``."""
    collected: list[Record] = []
    deadline = time.monotonic() + timeout
    while not done(collected):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: condition not met within {timeout}s; got {len(collected)}")
        for consumer in consumers:
            collected.extend(consumer.poll(max_records=500, timeout=0.05))
    return collected


def wait_assigned(consumers: list[Consumer], counts: list[int]) -> list[Record]:
    """Poll until each consumer owns the given number of partitions."""
    return poll_until(
        consumers,
        lambda _: [len(c.assignment()) for c in consumers] == counts,
        JOIN_TIMEOUT,
        f"assignment {counts}",
    )


def publish_markers(producer: Producer, topic: str, partitions: int) -> set[bytes]:
    """Publish markers until every partition holds one; return all their values."""
    markers: set[bytes] = set()
    covered: set[int] = set()
    while len(covered) < partitions:
        value = f"marker-{len(markers)}".encode()
        covered.add(producer.publish_sync(topic, value, value).partition)
        markers.add(value)
    return markers


def values(records: list[Record]) -> list[bytes]:
    return [r.value for r in records]


def test_publish_sync_returns_partition_and_offset(bus: Bus, producer: Producer) -> None:
    topic = unique("sync")
    bus.create_topics({topic: 3})
    first = producer.publish_sync(topic, "same-key", b"1")
    second = producer.publish_sync(topic, b"same-key", b"2")
    assert first.error is None and first.topic == topic and first.key == b"same-key"
    assert 0 <= first.partition < 3
    assert second.partition == first.partition
    assert second.offset == first.offset + 1


def test_delivery_callbacks_fire(bus: Bus, producer: Producer) -> None:
    topic = unique("callbacks")
    bus.create_topics({topic: 2})
    reports: list[Delivery] = []
    for i in range(20):
        producer.publish(topic, f"k{i % 4}", f"v{i}".encode(), reports.append)
    producer.flush()
    assert len(reports) == 20
    assert all(r.error is None and r.topic == topic for r in reports)
    by_partition: dict[int, list[int]] = defaultdict(list)
    for report in reports:
        by_partition[report.partition].append(report.offset)
    for offsets in by_partition.values():
        assert sorted(offsets) == list(range(offsets[0], offsets[0] + len(offsets)))


def test_create_topics_is_idempotent_and_honours_partition_count(bus: Bus, producer: Producer) -> None:
    topic = unique("create")
    bus.create_topics({topic: 3})
    bus.create_topics({topic: 5})
    partitions = {producer.publish_sync(topic, f"key-{i}", b"x").partition for i in range(60)}
    assert partitions == {0, 1, 2}
    consumer = bus.consumer(unique("g"), [topic], "earliest", SETTINGS)
    try:
        wait_assigned([consumer], [3])
        assert consumer.assignment() == {TopicPartition(topic, p) for p in range(3)}
    finally:
        consumer.close()


def test_earliest_reads_history_in_key_order(bus: Bus, producer: Producer) -> None:
    topic = unique("order")
    bus.create_topics({topic: 4})
    sent = {f"sym{k}": [f"sym{k}-{i}".encode() for i in range(50)] for k in range(6)}
    for i in range(50):
        for key, items in sent.items():
            producer.publish(topic, key, items[i])
    producer.flush()
    consumer = bus.consumer(unique("g"), [topic], "earliest", SETTINGS)
    try:
        records = poll_until([consumer], lambda got: len(got) >= 300)
    finally:
        consumer.close()
    assert len(records) == 300
    received: dict[str, list[bytes]] = defaultdict(list)
    for record in records:
        assert record.key is not None
        received[record.key.decode()].append(record.value)
    assert received == sent
    for a, b in itertools.pairwise(records):
        if a.partition == b.partition:
            assert b.offset > a.offset


def test_latest_skips_history(bus: Bus, producer: Producer) -> None:
    topic = unique("latest")
    bus.create_topics({topic: 2})
    for i in range(200):
        producer.publish(topic, f"k{i}", f"old-{i}".encode())
    producer.flush()
    consumer = bus.consumer(unique("g"), [topic], "latest", SETTINGS)
    try:
        early = wait_assigned([consumer], [2])
        for i in range(10):
            producer.publish(topic, f"k{i}", f"new-{i}".encode())
        producer.flush()
        markers = publish_markers(producer, topic, 2)
        records = early + poll_until([consumer], lambda got: markers <= set(values(got)))
    finally:
        consumer.close()
    assert sorted(values(records)) == sorted([f"new-{i}".encode() for i in range(10)] + list(markers))


def test_group_splits_partitions_and_survivor_resumes_from_commits(bus: Bus, producer: Producer) -> None:
    topic, group = unique("split"), unique("g")
    bus.create_topics({topic: 4})
    first = bus.consumer(group, [topic], "earliest", SETTINGS)
    second = bus.consumer(group, [topic], "earliest", SETTINGS)
    try:
        assert wait_assigned([first, second], [2, 2]) == []
        assert first.assignment().isdisjoint(second.assignment())
        assert first.assignment() | second.assignment() == {TopicPartition(topic, p) for p in range(4)}

        sent = {f"m{i}".encode() for i in range(80)}
        for i in range(80):
            producer.publish(topic, f"k{i}", f"m{i}".encode())
        producer.flush()
        got_first: list[Record] = []
        got_second: list[Record] = []

        def all_in(_: list[Record]) -> bool:
            got_first.extend(first.poll(500, 0.05))
            got_second.extend(second.poll(500, 0.05))
            return len(got_first) + len(got_second) >= 80

        poll_until([], all_in)
        assert set(values(got_first)) | set(values(got_second)) == sent
        assert {(r.topic, r.partition) for r in got_first}.isdisjoint({(r.topic, r.partition) for r in got_second})

        first.commit(got_first)
        by_partition: dict[int, list[Record]] = defaultdict(list)
        for record in got_second:
            by_partition[record.partition].append(record)
        committed = [r for recs in by_partition.values() for r in recs[: len(recs) // 2]]
        second.commit(committed)
        uncommitted = set(values(got_second)) - set(values(committed))
        assert uncommitted
    finally:
        second.close()
    try:
        taken_over = wait_assigned([first], [4])
        markers = publish_markers(producer, topic, 4)
        replayed = taken_over + poll_until([first], lambda got: markers <= set(values(got)))
        assert sorted(values(replayed)) == sorted(uncommitted | markers)
    finally:
        first.close()


def test_restart_resumes_from_committed_offsets(bus: Bus, producer: Producer) -> None:
    topic, group = unique("restart"), unique("g")
    bus.create_topics({topic: 2})
    for i in range(40):
        producer.publish(topic, f"k{i}", f"m{i}".encode())
    producer.flush()
    consumer = bus.consumer(group, [topic], "earliest", SETTINGS)
    try:
        records = poll_until([consumer], lambda got: len(got) >= 40)
        by_partition: dict[int, list[Record]] = defaultdict(list)
        for record in records:
            by_partition[record.partition].append(record)
        kept = [r for recs in by_partition.values() for r in recs[: len(recs) // 2]]
        consumer.commit(kept)
        expected_offsets = {
            TopicPartition(topic, p): recs[len(recs) // 2 - 1].offset + 1
            for p, recs in by_partition.items()
            if len(recs) >= 2
        }
        assert consumer.committed(list(expected_offsets)) == expected_offsets
    finally:
        consumer.close()
    restarted = bus.consumer(group, [topic], "earliest", SETTINGS)
    try:
        assert restarted.committed(list(expected_offsets)) == expected_offsets
        markers = publish_markers(producer, topic, 2)
        replay = poll_until([restarted], lambda got: markers <= set(values(got)))
        assert sorted(values(replay)) == sorted((set(values(records)) - set(values(kept))) | markers)
        restarted.commit()
        ends = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in replay}
        assert restarted.committed(list(ends)) == ends
    finally:
        restarted.close()


def test_pause_stops_delivery_and_seek_rewinds(bus: Bus, producer: Producer) -> None:
    topic = unique("pause")
    bus.create_topics({topic: 1})
    consumer = bus.consumer(unique("g"), [topic], "earliest", SETTINGS)
    try:
        wait_assigned([consumer], [1])
        consumer.pause()
        for i in range(10):
            producer.publish(topic, "k", f"m{i}".encode())
        producer.flush()
        paused_deadline = time.monotonic() + 1.0
        while time.monotonic() < paused_deadline:
            assert consumer.poll(500, 0.1) == []
        consumer.resume()
        records = poll_until([consumer], lambda got: len(got) >= 10)
        assert values(records) == [f"m{i}".encode() for i in range(10)]

        consumer.seek(TopicPartition(topic, 0), records[3].offset)
        again = poll_until([consumer], lambda got: len(got) >= 7)
        assert values(again) == [f"m{i}".encode() for i in range(3, 10)]
    finally:
        consumer.close()


def test_pause_holds_for_partitions_assigned_later(bus: Bus, producer: Producer) -> None:
    topic, group = unique("paused-rebalance"), unique("g")
    bus.create_topics({topic: 2})
    first = bus.consumer(group, [topic], "earliest", SETTINGS)
    second = bus.consumer(group, [topic], "earliest", SETTINGS)
    try:
        assert wait_assigned([first, second], [1, 1]) == []
        first.pause()
    finally:
        second.close()
    for i in range(20):
        producer.publish(topic, f"k{i}", f"m{i}".encode())
    producer.flush()
    try:
        assert wait_assigned([first], [2]) == []
        paused_deadline = time.monotonic() + 1.0
        while time.monotonic() < paused_deadline:
            assert first.poll(500, 0.1) == []
        first.resume()
        records = poll_until([first], lambda got: len(got) >= 20)
        assert sorted(values(records)) == sorted(f"m{i}".encode() for i in range(20))
    finally:
        first.close()


def test_poll_returns_once_a_record_is_in_without_waiting_for_a_full_batch(bus: Bus, producer: Producer) -> None:
    """``poll(max_records, timeout)`` waits at most ``timeout`` for the *first* record:
    a lone record comes back long before a generous timeout, not after it."""
    topic = unique("first")
    bus.create_topics({topic: 1})
    consumer = bus.consumer(unique("g"), [topic], "earliest", SETTINGS)
    try:
        wait_assigned([consumer], [1])
        producer.publish_sync(topic, b"k", b"only")
        patience = 60.0
        started = time.monotonic()
        records: list[Record] = []
        while not records and time.monotonic() - started < patience:  # the fetch may need a round or two
            records = consumer.poll(max_records=10_000, timeout=patience)
        waited = time.monotonic() - started
    finally:
        consumer.close()
    assert values(records) == [b"only"]
    assert waited < patience / 2, f"poll held a lone record for {waited:.1f}s of its {patience:.0f}s timeout"


# --- explicit partitions: the partitioner and assigned consumers ----------------------


def test_the_key_hash_is_the_wire_partitioner(bus: Bus, producer: Producer) -> None:
    """Both buses place a key where ``wire.partitioning.partition_of`` says (on Kafka:
    librdkafka's ``consistent_random``), so a producer that names the partition and
    one that leaves it to the key agree."""
    topic = unique("hash")
    bus.create_topics({topic: 7})
    assert bus.partition_count(topic) == 7
    for i in range(40):
        key = f"SYM{i:04d}"
        assert producer.publish_sync(topic, key, b"x").partition == partition_of(key, 7)


def test_publish_to_a_named_partition(bus: Bus, producer: Producer) -> None:
    topic = unique("named")
    bus.create_topics({topic: 4})
    for partition in range(4):
        delivery = producer.publish_sync(topic, "same-key", f"v{partition}".encode(), partition=partition)
        assert (delivery.error, delivery.partition) == (None, partition)
    with pytest.raises(BusError):
        producer.publish_sync(topic, "same-key", b"nowhere", timeout=5.0, partition=4)


def test_partition_count_of_a_missing_topic_is_an_error(bus: Bus) -> None:
    with pytest.raises(BusError):
        bus.partition_count(unique("missing"))


def test_an_assigned_consumer_reads_only_its_partitions_from_the_moment_it_is_assigned(
    bus: Bus, producer: Producer
) -> None:
    """No group, no rebalance: records published after ``assign`` returned are all
    read (no poll in between: nothing is lost while the consumer positions itself),
    history and other partitions are not."""
    topic = unique("assigned")
    bus.create_topics({topic: 4})
    for i in range(40):
        producer.publish(topic, None, f"old-{i}".encode(), partition=i % 4)
    producer.flush()
    consumer = bus.assigned_consumer(topic, SETTINGS)
    try:
        assert consumer.assignment() == set()
        consumer.assign({1, 3})
        assert consumer.assignment() == {TopicPartition(topic, 1), TopicPartition(topic, 3)}
        for i in range(40):
            producer.publish(topic, None, f"new-{i}".encode(), partition=i % 4)
        producer.flush()
        markers = {producer.publish_sync(topic, None, f"end-{p}".encode(), partition=p).partition for p in (1, 3)}
        assert markers == {1, 3}
        records = poll_until([consumer], lambda got: {b"end-1", b"end-3"} <= set(values(got)))
    finally:
        consumer.close()
    assert {r.partition for r in records} == {1, 3}
    assert sorted(values(records)) == sorted(
        [f"new-{i}".encode() for i in range(40) if i % 4 in (1, 3)] + [b"end-1", b"end-3"]
    )


def test_an_assignment_changed_at_runtime_keeps_the_positions_it_keeps(bus: Bus, producer: Producer) -> None:
    """Adding a partition leaves the others where they were (a record published before
    the change but not yet polled still comes); a removed one is read no more."""
    topic = unique("reassign")
    bus.create_topics({topic: 3})
    consumer = bus.assigned_consumer(topic, SETTINGS)
    try:
        consumer.assign([0])
        producer.publish_sync(topic, None, b"a0", partition=0)
        assert values(poll_until([consumer], lambda got: b"a0" in values(got))) == [b"a0"]
        producer.publish_sync(topic, None, b"a1", partition=0)  # published, not yet polled
        producer.publish_sync(topic, None, b"b-old", partition=1)
        consumer.assign([0, 1])
        producer.publish_sync(topic, None, b"b1", partition=1)
        got = poll_until([consumer], lambda got: {b"a1", b"b1"} <= set(values(got)))
        assert sorted(values(got)) == [b"a1", b"b1"]
        consumer.assign([1])
        assert consumer.assignment() == {TopicPartition(topic, 1)}
        producer.publish_sync(topic, None, b"a2", partition=0)
        producer.publish_sync(topic, None, b"b2", partition=1)
        rest = poll_until([consumer], lambda got: b"b2" in values(got))
        assert values(rest) == [b"b2"]
        with pytest.raises(BusError):
            consumer.assign([1, 3])
        with pytest.raises(BusError):
            consumer.commit()
    finally:
        consumer.close()


def test_wakeup_ends_a_waiting_poll(bus: Bus) -> None:
    """``wakeup`` from another thread: a long poll returns early (so that its thread
    can change the assignment) and the consumer keeps working."""
    topic = unique("wakeup")
    bus.create_topics({topic: 1})
    consumer = bus.assigned_consumer(topic, SETTINGS)
    patience = 30.0
    try:
        consumer.assign([0])
        waker = threading.Timer(0.2, consumer.wakeup)
        started = time.monotonic()
        waker.start()
        assert consumer.poll(max_records=10, timeout=patience) == []
        waited = time.monotonic() - started
    finally:
        consumer.close()
    assert 0.15 < waited < patience / 3, f"poll returned after {waited:.2f}s"


# --- health signal ---------------------------------------------------------------


def test_health_is_ok_on_a_working_bus_with_its_topics(bus: Bus, producer: Producer) -> None:
    topic = unique("health")
    bus.create_topics({topic: 3})
    producer.publish_sync(topic, "k", b"v")
    health = bus.health()
    assert health.ok and health.reason == ""


def test_health_names_an_unreachable_broker() -> None:
    """Kafka only (the memory bus cannot fail): nothing listens on the port."""
    from tests.servers import free_port, wait_until

    bus = open_bus(f"kafka://127.0.0.1:{free_port()}?health_interval_s=0.1&request_timeout_s=0.5", check=False)
    try:
        wait_until(lambda: not bus.health().ok, 10, "bus unhealthy")
        assert "unreachable" in bus.health().reason
    finally:
        bus.close()


def test_a_topic_with_another_partition_count_is_reported(bus_url: str) -> None:
    """A topic another process made with other counts than this one's layout (e.g. the
    broker's default after a data loss) makes the bus unhealthy, naming it."""
    if bus_url.startswith("memory://"):
        pytest.skip("the memory bus has no broker that could create a topic behind its back")
    topic = unique("layout")
    first, second = open_bus(bus_url), open_bus(bus_url)
    try:
        first.create_topics({topic: 4})
        second.create_topics({topic: 8})
        health = second.health()
        assert not health.ok
        assert f"topic {topic} has 4 partitions, the layout says 8" in health.reason
    finally:
        first.close()
        second.close()
