"""A consumer-group member on Kafka via confluent-kafka.

Rebalancing is eager (``range``): on every rebalance all partitions are
revoked, then the new assignment arrives, and each partition restarts at the
group's committed offset. (Tansu joins cooperative members several seconds
slower, and the bus contract is at-least-once either way.) The assignment is
tracked from the rebalance callbacks, which librdkafka runs inside ``poll``.

``latest`` guard: Tansu's ListOffsets answers the offset after the first
record of a partition's last batch, not its end, so a new group replays up to a
batch of history. For each partition assigned without a committed offset under
``latest``, the position is fixed inside the assignment callback (one record
before the reported end) and records stamped before that moment are dropped
until the first newer one arrives. On Apache Kafka this re-reads and drops one
old record; ``latest_guard=false`` in the URL turns it off (see docs/BUS.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException
from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import TopicPartition as RdTopicPartition

from livecore.adapters.kafka_callbacks import CallbackFaults
from livecore.adapters.kafka_config import LOG, KafkaSettings, consumer_config, error_callback
from livecore.adapters.kafka_health import BrokerState
from livecore.faults import kafka_error_is_transient
from livecore.ports.bus import BusError, Consumer, ConsumerSettings, OffsetReset, Record, TopicPartition

_PARTITION_EOF = KafkaError._PARTITION_EOF
REBALANCE = "rebalance"  # the name its callbacks' faults are recorded under
Key = tuple[str, int]


class KafkaConsumer(Consumer):
    """One member of a consumer group; used by one thread."""

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        topics: list[str],
        offset_reset: OffsetReset,
        asked: ConsumerSettings | None,
        state: BrokerState | None = None,
    ) -> None:
        self.group_id = group_id
        self._timeout = settings.request_timeout_s
        self._guard_latest = settings.latest_guard and offset_reset == "latest"
        self._state = state or BrokerState()
        self._generation = self._state.generation
        self._born = self._state.generation
        self._loss_handled: dict[Key, int] = {}
        self._faults = CallbackFaults(f"consumer of group {group_id}")
        on_error = error_callback(self._state, faults=self._faults)
        self._consumer = RdConsumer(consumer_config(settings, group_id, offset_reset, asked, on_error))
        self._topics = list(topics)
        self._assigned: set[Key] = set()
        self._polled: dict[Key, int] = {}
        self._stale_before: dict[Key, int] = {}
        self._paused = False
        self._closed = False
        self._subscribe()

    def _subscribe(self) -> None:
        guard = self._faults.guard
        self._consumer.subscribe(
            self._topics,
            on_assign=guard(REBALANCE, self._on_assign),
            on_revoke=guard(REBALANCE, self._on_revoke),
            on_lost=guard(REBALANCE, self._on_revoke),
        )

    # --- rebalance callbacks (run by librdkafka inside consume/close) ---------------

    def _on_assign(self, consumer: RdConsumer, partitions: list[RdTopicPartition]) -> None:
        if partitions and (self._guard_latest or self._state.generation > self._born):
            try:
                self._position_fresh_partitions(consumer, partitions)
            except KafkaException as exc:
                LOG.error("group %s: cannot position new partitions: %s", self.group_id, exc)
        consumer.assign(partitions)
        if self._paused and partitions:
            consumer.pause(partitions)
        keys = [(p.topic, p.partition) for p in partitions]
        self._assigned.update(keys)
        LOG.debug("group %s assigned %s", self.group_id, sorted(keys))

    def _position_fresh_partitions(self, consumer: RdConsumer, partitions: list[RdTopicPartition]) -> None:
        """``latest`` made exact: for partitions the group never committed, start one
        record before the end the broker reports (Tansu reports the offset after the
        first record of the last batch) and drop what was stamped before this moment."""
        assigned_at = int(time.time() * 1000)
        committed = consumer.committed(partitions, timeout=self._timeout)
        fresh = {(c.topic, c.partition) for c in committed if c.offset < 0}
        for partition in partitions:
            key = (partition.topic, partition.partition)
            if key in fresh and self._lost_data(key):
                # the broker lost this topic: whatever it holds now came after the loss
                partition.offset = OFFSET_BEGINNING
                LOG.warning(
                    "group %s: %s[%d] lost its data and offsets: starting at its beginning", self.group_id, *key
                )
            elif key in fresh and self._guard_latest:
                low, high = consumer.get_watermark_offsets(partition, timeout=self._timeout)
                partition.offset = max(low, high - 1)
                self._stale_before[key] = assigned_at

    def _lost_data(self, key: Key) -> bool:
        """True once per partition whose topic the broker lost (and the bus recreated
        or saw recreated) since this consumer was created or last repositioned it."""
        recreated = self._state.recreated.get(key[0], 0)
        if recreated > self._loss_handled.get(key, self._born):
            self._loss_handled[key] = recreated
            return True
        return False

    def _check_after_outage(self) -> None:
        """The broker came back: partitions of recreated topics restart at their
        beginning (the old position points past the end of the new, empty log)."""
        generation = self._state.generation
        for key in sorted(self._assigned):
            if self._lost_data(key):
                LOG.warning(
                    "group %s: %s[%d] lost its data in the broker outage: reading it from its beginning",
                    self.group_id,
                    *key,
                )
                self._stale_before.pop(key, None)
                self._polled.pop(key, None)
                try:
                    self._consumer.seek(RdTopicPartition(key[0], key[1], OFFSET_BEGINNING))
                except KafkaException as exc:
                    LOG.error("group %s: cannot reposition %s[%d]: %s", self.group_id, *key, exc.args[0].str())
        self._generation = generation

    def _check_callbacks(self) -> None:
        """After a librdkafka call: a rebalance callback that raised inside it left the
        assignment unknown (partitions owned but not tracked, or not fetched), so this
        member leaves the group and joins it again; its partitions restart at the
        group's committed offsets (at-least-once). Other callback faults were logged."""
        faults = self._faults.take()
        rebalance = [text for name, text in faults if name == REBALANCE]
        if not rebalance or self._closed:
            return
        LOG.warning("group %s: a rebalance callback raised (%s): joining the group again", self.group_id, rebalance[0])
        for key in list(self._assigned):
            self._forget(key)
        try:
            self._consumer.unsubscribe()
            self._subscribe()
        except KafkaException as exc:
            self._faults.record(REBALANCE, exc)  # tried again after the next call
            raise _bus_error("cannot join the group again", exc.args[0]) from None

    def _forget(self, key: Key) -> None:
        self._assigned.discard(key)
        self._polled.pop(key, None)
        self._stale_before.pop(key, None)

    def _on_revoke(self, consumer: RdConsumer, partitions: list[RdTopicPartition]) -> None:
        for partition in partitions:
            self._forget((partition.topic, partition.partition))
        LOG.debug("group %s revoked %d partition(s)", self.group_id, len(partitions))

    # --- Consumer ----------------------------------------------------------------

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        self._check_open()
        if self._generation != self._state.generation:
            self._check_after_outage()
        try:
            # Any: the stubs make every Message field optional; set on data messages.
            # librdkafka's batch consume waits for the whole batch or the timeout; the
            # port promises to return once the first record is in, with whatever else
            # is already fetched: wait for one, then drain the local queue without waiting.
            messages: list[Any] = self._first(timeout)
            if messages and max_records > 1:
                messages.extend(self._consumer.consume(max_records - 1, 0))
        except KafkaException as exc:
            raise _bus_error("poll failed", exc.args[0]) from None
        finally:
            self._check_callbacks()
        return self._records(messages)

    def _records(self, messages: list[Any]) -> list[Record]:
        """Records of the data messages. The position (``_polled``) is written once per
        run of one partition's messages (a fetch delivers them in runs), not per message;
        a consumer of one topic takes its name from its subscription, not per message."""
        batch: list[Record] = []
        append = batch.append
        polled = self._polled
        stale = self._stale_before
        only = self._topics[0] if len(self._topics) == 1 and not self._topics[0].startswith("^") else None
        key: Key | None = None
        previous = -1
        for message in messages:
            error = message.error()
            if error is not None:
                self._on_error(error)
                continue
            topic, partition, offset = only or message.topic(), message.partition(), message.offset()
            if key is None or key[1] != partition or key[0] != topic:
                if key is not None:
                    polled[key] = previous + 1
                key = (topic, partition)
            previous = offset
            timestamp = message.timestamp()[1]
            if stale:
                cutoff = stale.get(key)
                if cutoff is not None:
                    if timestamp < cutoff:
                        continue
                    del stale[key]
            append(Record(topic, partition, offset, message.key(), message.value(), timestamp))
        if key is not None:
            polled[key] = previous + 1
        return batch

    def _first(self, timeout: float) -> list[Any]:
        """Wait up to ``timeout`` for one message (inside ``poll``'s error handling)."""
        return self._consumer.consume(1, timeout)

    def _on_error(self, error: KafkaError) -> None:
        if error.code() == _PARTITION_EOF:
            return
        if error.fatal():
            raise BusError(f"consumer failed: {error.str()}", transient=False)
        LOG.warning("group %s: %s", self.group_id, error.str())

    def commit(self, records: Iterable[Record] | None = None) -> None:
        """Synchronous; offsets of partitions this member no longer owns are skipped
        (the broker would refuse them after a rebalance; their new owner redelivers)."""
        self._check_open()
        if records is None:
            offsets = dict(self._polled)
        else:
            offsets = {}
            for record in records:
                key = (record.topic, record.partition)
                offsets[key] = max(offsets.get(key, 0), record.offset + 1)
        wanted = [RdTopicPartition(t, p, o) for (t, p), o in offsets.items() if (t, p) in self._assigned]
        if not wanted:
            return
        try:
            results = self._consumer.commit(offsets=wanted, asynchronous=False)
        except KafkaException as exc:
            raise _bus_error("commit failed", exc.args[0]) from None
        for result in results or []:
            if result.error is not None:
                raise _bus_error(f"commit failed for {result.topic}[{result.partition}]", result.error)

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        self._check_open()
        asked = [RdTopicPartition(tp.topic, tp.partition) for tp in partitions]
        if not asked:
            return {}
        try:
            found = self._consumer.committed(asked, timeout=self._timeout)
        except KafkaException as exc:
            raise _bus_error("cannot read committed offsets", exc.args[0]) from None
        return {TopicPartition(f.topic, f.partition): (f.offset if f.offset >= 0 else None) for f in found}

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(t, p) for t, p in self._assigned}

    def _assigned_rd(self) -> list[RdTopicPartition]:
        return [RdTopicPartition(t, p) for t, p in self._assigned]

    def pause(self) -> None:
        """Also applies to partitions assigned later, until ``resume``."""
        self._check_open()
        self._paused = True
        if self._assigned:
            self._consumer.pause(self._assigned_rd())

    def resume(self) -> None:
        self._check_open()
        self._paused = False
        if self._assigned:
            self._consumer.resume(self._assigned_rd())

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """An explicit position also ends the ``latest`` guard of that partition."""
        self._check_open()
        key = (partition.topic, partition.partition)
        if key not in self._assigned:
            raise BusError(f"cannot seek {partition.topic}[{partition.partition}]: not assigned", transient=False)
        self._stale_before.pop(key, None)
        try:
            self._consumer.seek(RdTopicPartition(partition.topic, partition.partition, max(0, offset)))
        except KafkaException as exc:
            raise _bus_error(f"cannot seek {partition.topic}[{partition.partition}]", exc.args[0]) from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("consumer is closed", transient=False)

    def __repr__(self) -> str:
        return f"KafkaConsumer(group={self.group_id!r}, assigned={sorted(self._assigned)})"


def _bus_error(what: str, error: KafkaError) -> BusError:
    """``what: librdkafka's message``, transient when the error can clear by itself."""
    return BusError(f"{what}: {error.str()}", transient=kafka_error_is_transient(error))
