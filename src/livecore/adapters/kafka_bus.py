"""The bus on Kafka (or any Kafka-protocol broker such as Tansu) via confluent-kafka.

``KafkaBus`` holds one admin client for topic creation, metadata and ``ping``, the
``BrokerState`` its clients share (the health signal) and the watchdog that
restores lost topics (``kafka_watchdog.py``); producers (``kafka_producer.py``),
group consumers (``kafka_consumer.py``) and assigned consumers
(``kafka_assigned.py``) are independent librdkafka clients.
Settings come from the URL (``kafka_config.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from livecore.adapters.kafka_assigned import KafkaAssignedConsumer
from livecore.adapters.kafka_config import KafkaSettings, common_config, error_callback, parse_kafka_url
from livecore.adapters.kafka_consumer import KafkaConsumer
from livecore.adapters.kafka_health import BrokerState
from livecore.adapters.kafka_producer import KafkaProducer
from livecore.adapters.kafka_watchdog import TopicWatchdog
from livecore.faults import kafka_error_is_transient
from livecore.ports.bus import (
    AssignedConsumer,
    Bus,
    BusError,
    BusHealth,
    Consumer,
    ConsumerSettings,
    OffsetReset,
    Producer,
)

__all__ = ["KafkaBus", "KafkaProducer"]


class KafkaBus(Bus):
    """Factory of Kafka producers and consumers for one cluster."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.settings: KafkaSettings = parse_kafka_url(url)
        self._admin: AdminClient | None = None
        self._admin_lock = threading.Lock()
        self.state = BrokerState()
        self.watchdog = TopicWatchdog(self.settings, self.state, self._admin_client)

    def _admin_client(self) -> AdminClient:
        with self._admin_lock:
            if self._admin is None:
                self._admin = AdminClient(common_config(self.settings, error_callback(self.state)))
            return self._admin

    def health(self) -> BusHealth:
        self.watchdog.start()
        return self.state.health()

    def create_topics(self, topics: Mapping[str, int]) -> None:
        """Create missing topics; an existing topic keeps its partition count. The
        watchdog then guards them: re-created with this count if the broker loses
        them, reported loudly if their count differs."""
        if not topics:
            return
        self.watchdog.expect(topics)
        self._create(topics)
        self.watchdog.probe()  # a partition count that differs is reported now, before any produce
        self.watchdog.start()

    def _create(self, topics: Mapping[str, int]) -> None:
        timeout = self.settings.request_timeout_s
        wanted = [NewTopic(name, count, self.settings.replication_factor) for name, count in topics.items()]
        futures = self._admin_client().create_topics(wanted, operation_timeout=timeout, request_timeout=timeout)
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    transient = kafka_error_is_transient(error)
                    raise BusError(f"cannot create topic {name}: {error.str()}", transient=transient) from None
            except Exception as exc:
                raise BusError(f"cannot create topic {name}: {exc}") from None

    def producer(self, linger_ms: int | None = None) -> Producer:
        """``linger_ms`` overrides the URL's ``linger_ms`` (librdkafka's ``linger.ms``)."""
        self.watchdog.start()
        settings = self.settings if linger_ms is None else replace(self.settings, linger_ms=linger_ms)
        return KafkaProducer(settings, self.state, watch=self.watchdog.watch)

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
            raise BusError(f"offset_reset must be 'earliest' or 'latest', got {offset_reset!r}", transient=False)
        self._ensure_known(topics)
        return KafkaConsumer(self.settings, group_id, list(topics), offset_reset, settings, self.state)

    def assigned_consumer(self, topic: str, settings: ConsumerSettings | None = None) -> AssignedConsumer:
        """The topic is created first when missing, as for ``consumer``."""
        self._ensure_known([topic])
        return KafkaAssignedConsumer(self.settings, topic, settings, self.state)

    def partition_count(self, topic: str) -> int:
        """From the broker's metadata (not the layout this process expects)."""
        try:
            metadata = self._admin_client().list_topics(topic, timeout=self.settings.request_timeout_s)
        except KafkaException as exc:
            raise BusError(f"cannot read the metadata of {topic}: {exc.args[0].str()}") from None
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise BusError(f"topic {topic} does not exist", transient=False)
        return len(found.partitions)

    def _ensure_known(self, topics: Sequence[str]) -> None:
        known = self.watchdog.layout()
        unknown = [t for t in topics if t not in known]
        if unknown:
            # guarded with the count they really have (another process may have chosen it)
            self._create(dict.fromkeys(unknown, self.settings.partitions))
            try:
                found = self._admin_client().list_topics(timeout=self.settings.request_timeout_s).topics
            except KafkaException as exc:
                raise BusError(f"cannot list topics: {exc.args[0].str()}") from None
            self.watchdog.expect({t: len(found[t].partitions) for t in unknown if t in found})
        self.watchdog.start()

    def ping(self, timeout: float = 5.0) -> None:
        try:
            self._admin_client().list_topics(timeout=timeout)
        except KafkaException as exc:
            raise BusError(f"Kafka at {self.settings.bootstrap} does not answer: {exc.args[0].str()}") from None

    def close(self) -> None:
        self.watchdog.stop()
        self._admin = None
