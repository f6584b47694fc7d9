"""KafkaBus behaviour beyond the shared contract, against a real Tansu broker."""

from __future__ import annotations

import uuid

import pytest
from tests.servers import free_port, wait_until

from livecore.adapters.factory import open_bus
from livecore.adapters.kafka_bus import KafkaBus
from livecore.errors import ConfigError
from livecore.ports.bus import BusError, ConsumerSettings

pytestmark = pytest.mark.kafka

SETTINGS = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750)


def test_ping_names_an_unreachable_broker() -> None:
    bus = KafkaBus(f"kafka://127.0.0.1:{free_port()}")
    with pytest.raises(BusError, match="does not answer"):
        bus.ping(timeout=0.5)
    bus.close()


def test_open_bus_refuses_unknown_url_parameters() -> None:
    with pytest.raises(ConfigError, match="unknown parameter 'colour'"):
        open_bus("kafka://127.0.0.1:9092?colour=blue")


def test_flush_raises_when_messages_stay_undelivered() -> None:
    producer = KafkaBus(f"kafka://127.0.0.1:{free_port()}").producer()
    producer.publish("nowhere", "k", b"v")
    with pytest.raises(BusError, match="1 message"):
        producer.flush(timeout=0.3)


def test_subscribing_creates_missing_topics_with_the_url_partition_count(kafka_url: str) -> None:
    bus = KafkaBus(f"{kafka_url}?partitions=3")
    topic = f"created-{uuid.uuid4().hex[:10]}"
    consumer = bus.consumer(f"g-{topic}", [topic], "earliest", SETTINGS)
    try:
        wait_until(lambda: not consumer.poll(timeout=0.1) and len(consumer.assignment()) == 3, 30, "join")
        assert len(consumer.assignment()) == 3
    finally:
        consumer.close()
        bus.close()


def test_closed_clients_refuse_work(kafka_url: str) -> None:
    bus = KafkaBus(kafka_url)
    producer = bus.producer()
    producer.close()
    with pytest.raises(BusError, match="closed"):
        producer.publish("t", None, b"v")
    topic = f"closed-{uuid.uuid4().hex[:10]}"
    consumer = bus.consumer(f"g-{topic}", [topic], "latest", SETTINGS)
    consumer.close()
    consumer.close()
    with pytest.raises(BusError, match="closed"):
        consumer.poll(timeout=0)
    bus.close()


def test_a_producer_topic_recreated_elsewhere_rebuilds_the_producer(kafka_url: str) -> None:
    """A topic this bus only publishes to (another process created it) is lost and
    recreated while this bus never saw the broker down: its watchdog notices the new
    topic id, and the producer rebuilds and publishes its acknowledged messages again."""
    owner, user = KafkaBus(kafka_url), KafkaBus(kafka_url)
    topic = f"watched-{uuid.uuid4().hex[:10]}"
    owner.create_topics({topic: 1})
    producer = user.producer()
    try:
        producer.publish(topic, "k", b"first", lambda delivery: None)
        producer.flush(10)
        wait_until(lambda: topic in user.watchdog._ids, 30, "the watchdog knows the topic's id")
        generation = user.state.generation
        admin = owner._admin_client()
        admin.delete_topics([topic], operation_timeout=10)[topic].result(10)
        wait_until(lambda: topic not in admin.list_topics(timeout=5).topics, 30, "topic deleted")
        owner._create({topic: 1})
        wait_until(lambda: user.state.recreated.get(topic, 0) > 0, 30, "the recreation seen by the user's bus")
        assert user.state.generation > generation
        producer.poll(0)  # the next call rebuilds and replays what the lost topic held
        assert producer.rebuilds == 1 and producer.replayed == 1  # type: ignore[attr-defined]
    finally:
        producer.close()
        owner.close()
        user.close()
