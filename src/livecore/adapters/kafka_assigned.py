"""An ``AssignedConsumer`` on Kafka: explicit partitions of one topic, no group.

It is a ``KafkaConsumer`` that never subscribes: ``assign`` adds and removes
partitions with librdkafka's incremental assign, so the partitions it keeps
are not interrupted. librdkafka wants a ``group.id`` even so; the consumer
gets one of its own, never joins it and never commits to it.

A partition it is newly given starts at the end the broker reports *now*,
read synchronously (``get_watermark_offsets``) and handed to the assignment
as an explicit offset, so every record published after ``assign`` returns is
read: librdkafka's own ``latest`` would be resolved later, in the background,
and could skip what was published meanwhile. With the ``latest`` guard on
(Tansu answers one batch short, see ``kafka_consumer.py``) it starts one record
before that end and drops what was stamped before the call.

``wakeup`` is the one method another thread may call: librdkafka's assign
cannot run beside a ``consume`` blocked in another thread (it waits for it),
so the polling thread changes the assignment itself, and ``poll`` waits for
its first record in slices of ``WAKE_SLICE_S`` so that a wakeup is seen soon.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka import TopicPartition as RdTopicPartition

from livecore.adapters.kafka_config import KafkaSettings
from livecore.adapters.kafka_consumer import KafkaConsumer, Key, _bus_error
from livecore.adapters.kafka_health import BrokerState
from livecore.ports.bus import AssignedConsumer, BusError, ConsumerSettings, Record, TopicPartition

# the longest a poll waits before it looks for a wakeup again
WAKE_SLICE_S = 0.01


class KafkaAssignedConsumer(KafkaConsumer, AssignedConsumer):
    """Reads the partitions of ``topic`` it is assigned; used by one thread (but ``wakeup``)."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        asked: ConsumerSettings | None,
        state: BrokerState | None = None,
    ) -> None:
        self.topic = topic
        self._woken = False
        group = f"{settings.client_id}.assigned.{uuid.uuid4().hex[:12]}"  # never joined
        super().__init__(settings, group, [topic], "latest", asked, state)

    def _subscribe(self) -> None:
        """Never: the assignment is explicit."""

    def assign(self, partitions: Collection[int]) -> None:
        self._check_open()
        wanted = {(self.topic, p) for p in partitions}
        gone = sorted(self._assigned - wanted)
        new = sorted(wanted - self._assigned)
        if new:
            self._check_exist([p for _, p in new])
        try:
            if gone:
                self._consumer.incremental_unassign([RdTopicPartition(t, p) for t, p in gone])
                for key in gone:
                    self._forget(key)
            if new:
                self._add(new)
        except KafkaException as exc:
            raise _bus_error(f"cannot assign {self.topic}{sorted(partitions)}", exc.args[0]) from None

    def _add(self, keys: list[Key]) -> None:
        """Each new partition at the end the broker reports now (see the module docstring)."""
        assigned_at = int(time.time() * 1000)
        fresh = []
        for key in keys:
            partition = RdTopicPartition(*key)
            low, high = self._consumer.get_watermark_offsets(partition, timeout=self._timeout)
            self._lost_data(key)  # a topic lost before now: its end is where to start anyway
            if self._guard_latest:
                partition.offset = max(low, high - 1)
                self._stale_before[key] = assigned_at
            else:
                partition.offset = high
            fresh.append(partition)
        self._consumer.incremental_assign(fresh)
        if self._paused:
            self._consumer.pause(fresh)
        self._assigned.update(keys)

    def _check_exist(self, partitions: list[int]) -> None:
        try:
            found = self._consumer.list_topics(self.topic, timeout=self._timeout).topics.get(self.topic)
        except KafkaException as exc:
            raise _bus_error(f"cannot read the metadata of {self.topic}", exc.args[0]) from None
        count = 0 if found is None or found.error is not None else len(found.partitions)
        unknown = [p for p in partitions if not 0 <= p < count]
        if unknown:
            raise BusError(f"topic {self.topic} has no partition(s) {unknown} (it has {count})", transient=False)

    def wakeup(self) -> None:
        self._woken = True

    def _first(self, timeout: float) -> list[Any]:
        """Wait for the first message in slices, returning early after a ``wakeup``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            messages: list[Any] = self._consumer.consume(1, max(0.0, min(WAKE_SLICE_S, remaining)))
            if messages or remaining <= WAKE_SLICE_S or self._woken:
                self._woken = False
                return messages

    def commit(self, records: Iterable[Record] | None = None) -> None:
        AssignedConsumer.commit(self, records)

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        return AssignedConsumer.committed(self, partitions)

    def __repr__(self) -> str:
        return f"KafkaAssignedConsumer(topic={self.topic!r}, assigned={sorted(p for _, p in self._assigned)})"
