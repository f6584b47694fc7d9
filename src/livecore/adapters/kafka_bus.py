"""The bus on Kafka (or any Kafka-protocol broker such as Tansu) via confluent-kafka.

``KafkaBus`` holds one admin client for topic creation and ``ping``;
producers and consumers are independent librdkafka clients. Settings come from
the URL (``kafka_config.py``); the consumer lives in ``kafka_consumer.py``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as RdProducer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from livecore.adapters.kafka_config import (
    KafkaSettings,
    common_config,
    parse_kafka_url,
    producer_config,
)
from livecore.adapters.kafka_consumer import KafkaConsumer
from livecore.ports.bus import (
    Bus,
    BusError,
    Consumer,
    ConsumerSettings,
    Delivery,
    DeliveryCallback,
    OffsetReset,
    Producer,
)

# How long ``publish`` waits for room when librdkafka's local queue is full.
QUEUE_FULL_WAIT_S = 0.05


class KafkaBus(Bus):
    """Factory of Kafka producers and consumers for one cluster."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.settings: KafkaSettings = parse_kafka_url(url)
        self._admin: AdminClient | None = None

    def _admin_client(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(common_config(self.settings))
        return self._admin

    def create_topics(self, topics: Mapping[str, int]) -> None:
        """Create missing topics; an existing topic keeps its partition count."""
        if not topics:
            return
        timeout = self.settings.request_timeout_s
        wanted = [NewTopic(name, count, self.settings.replication_factor) for name, count in topics.items()]
        futures = self._admin_client().create_topics(wanted, operation_timeout=timeout, request_timeout=timeout)
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BusError(f"cannot create topic {name}: {error.str()}") from None
            except Exception as exc:
                raise BusError(f"cannot create topic {name}: {exc}") from None

    def producer(self) -> Producer:
        return KafkaProducer(self.settings)

    def consumer(
        self,
        group_id: str,
        topics: Sequence[str],
        offset_reset: OffsetReset = "latest",
        settings: ConsumerSettings | None = None,
    ) -> Consumer:
        """Subscribed topics are created first (with ``partitions`` from the URL) when
        missing: librdkafka only notices a topic created later at its next metadata
        refresh, minutes away."""
        if offset_reset not in ("earliest", "latest"):
            raise BusError(f"offset_reset must be 'earliest' or 'latest', got {offset_reset!r}")
        self.create_topics(dict.fromkeys(topics, self.settings.partitions))
        return KafkaConsumer(self.settings, group_id, list(topics), offset_reset, settings)

    def ping(self, timeout: float = 5.0) -> None:
        try:
            self._admin_client().list_topics(timeout=timeout)
        except KafkaException as exc:
            raise BusError(f"Kafka at {self.settings.bootstrap} does not answer: {exc.args[0].str()}") from None

    def close(self) -> None:
        self._admin = None


class KafkaProducer(Producer):
    """librdkafka's delivery reports are only queued here (whoever calls librdkafka's
    poll); the caller's callbacks run from ``poll``/``flush``, in the caller's thread,
    never inside ``publish``."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._producer = RdProducer(producer_config(settings))
        self._reports: deque[tuple[DeliveryCallback, Delivery]] = deque()
        self._closed = False

    def publish(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        if self._closed:
            raise BusError("producer is closed")
        report = None if on_delivery is None else self._reporter(on_delivery)
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=report)
                return
            except BufferError:
                # Local queue full: let librdkafka hand over finished reports (they are
                # only queued here, so no caller callback runs) and try again.
                self._producer.poll(QUEUE_FULL_WAIT_S)
            except KafkaException as exc:
                raise BusError(f"cannot publish to {topic}: {exc.args[0].str()}") from None

    def _reporter(self, on_delivery: DeliveryCallback) -> Any:
        reports = self._reports

        def report(error: KafkaError | None, message: Any) -> None:
            delivery = Delivery(
                topic=message.topic(),
                key=message.key(),
                partition=message.partition(),
                offset=message.offset(),
                error=None if error is None else error.str(),
            )
            reports.append((on_delivery, delivery))

        return report

    def poll(self, timeout: float = 0.0) -> None:
        self._producer.poll(0.0 if self._reports else timeout)
        self._serve()

    def _serve(self) -> None:
        """Run queued callbacks; one that raises propagates (the rest stay queued)."""
        while self._reports:
            callback, delivery = self._reports.popleft()
            callback(delivery)

    def flush(self, timeout: float = 10.0) -> None:
        remaining = self._producer.flush(timeout)
        self._serve()
        if remaining:
            raise BusError(f"{remaining} message(s) still undelivered after {timeout}s")

    def close(self, timeout: float = 10.0) -> None:
        if not self._closed:
            self._closed = True
            self.flush(timeout)
