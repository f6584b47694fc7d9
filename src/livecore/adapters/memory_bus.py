"""In-process message bus with Kafka's semantics, for ``livecore run`` and fast tests.

Topics have partitions; a key's partition is ``crc32(key) % partitions`` (the
same hash librdkafka's default partitioner uses, so a key lands on the same
partition number on both backends); a ``None`` key goes round robin. Offsets
grow forever; each partition retains by bytes and age (``memory_log.py``),
except what a live group still needs (``memory_hold.py``), up to a hard limit:
a consumer stuck for a while (its database down) loses nothing. A consumer whose
position fell behind the retained records resumes by its ``offset_reset``
policy, logs a WARNING with how many records it lost and counts them
(``lost_records``, summed for the bus in ``health()``), as Kafka's
``auto.offset.reset`` does.

An ``AssignedConsumer`` (``MemoryAssignedConsumer``) belongs to no group: it
reads the partitions it is assigned, each newly assigned one from its end as
of the ``assign`` call (taken under the bus lock, so exact), and holds no
retention.

Consumer groups split partitions among their members and rebalance at once
when a member joins or closes (or a subscribed topic appears). Rebalances are
eager, as in the Kafka adapter: every member restarts each partition it owns at
the group's committed offset, or at ``earliest``/``latest`` when nothing was
committed, so what was not committed is delivered again.

One lock guards the whole bus; ``poll`` waits on its condition, which every
publish notifies. Nothing here blocks except a consumer waiting for data.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from livecore.adapters.memory_hold import OverrunReporter, lowest_hold, note_start
from livecore.adapters.memory_log import MemoryBusSettings, PartitionLog, parse_memory_url
from livecore.adapters.memory_reader import MemoryReader
from livecore.errors import ConfigError
from livecore.ports.bus import (
    AssignedConsumer,
    Bus,
    BusError,
    BusHealth,
    Consumer,
    ConsumerSettings,
    Delivery,
    DeliveryCallback,
    OffsetReset,
    Producer,
    Record,
    TopicPartition,
)
from livecore.wire.partitioning import partition_of

__all__ = ["MemoryAssignedConsumer", "MemoryBus", "MemoryBusSettings", "MemoryConsumer", "MemoryProducer"]

LOG = logging.getLogger("livecore.bus")


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class _Topic:
    __slots__ = ("logs", "round_robin")

    def __init__(self, partitions: int, settings: MemoryBusSettings) -> None:
        budget = max(1, settings.retention_bytes // partitions)
        self.logs = [PartitionLog(budget, settings.retention_ms) for _ in range(partitions)]
        self.round_robin = itertools.count()


class _Group:
    """``started``: where an ``earliest`` member first started a partition (it holds
    retention from there until the group commits)."""

    __slots__ = ("committed", "members", "started")

    def __init__(self) -> None:
        self.members: list[MemoryConsumer] = []
        self.committed: dict[TopicPartition, int] = {}
        self.started: dict[TopicPartition, int] = {}


class MemoryBus(Bus):
    """A bus living in this process. ``MemoryBus.named(url)`` shares one per name."""

    _registry: dict[str, MemoryBus] = {}
    _registry_lock = threading.Lock()

    @classmethod
    def named(cls, url: str) -> MemoryBus:
        """The process-wide bus for ``memory://NAME`` (created on first use, with the
        URL's retention parameters). Later URLs of the same name may omit the
        parameters; giving different ones is a ``ConfigError``."""
        name, settings = parse_memory_url(url)
        with cls._registry_lock:
            bus = cls._registry.get(name)
            if bus is None:
                bus = cls._registry[name] = cls(url, settings)
            elif settings is not None and settings != bus.settings:
                raise ConfigError(f"bus {name!r} already exists with {bus.settings}, not {settings}")
            return bus

    def __init__(
        self,
        url: str = "memory://",
        settings: MemoryBusSettings | None = None,
        *,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        """``clock_ms`` stamps records (tests pass a fake one to age them without waiting)."""
        self.url = url
        self.settings = settings or MemoryBusSettings()
        self._clock_ms = clock_ms
        self._cond = threading.Condition(threading.Lock())
        self._topics: dict[str, _Topic] = {}
        self._groups: dict[str, _Group] = {}
        self._waiting = 0  # consumers blocked in poll: publish only notifies when some are
        self._lost = 0  # records every consumer of this bus skipped behind retention
        self._overruns = OverrunReporter()

    # --- Bus -------------------------------------------------------------------

    def create_topics(self, topics: Mapping[str, int]) -> None:
        with self._cond:
            for name, partitions in topics.items():
                if partitions < 1:
                    raise BusError(
                        f"topic {name}: partition count must be at least 1, got {partitions}", transient=False
                    )
                if name not in self._topics:
                    self._create(name, partitions)

    def producer(self, linger_ms: int | None = None) -> Producer:
        """``linger_ms`` is ignored: a publish is in the log at once."""
        return MemoryProducer(self)

    def consumer(
        self,
        group_id: str,
        topics: Sequence[str],
        offset_reset: OffsetReset = "latest",
        settings: ConsumerSettings | None = None,
    ) -> Consumer:
        """``settings`` are accepted for parity with Kafka; timeouts do not apply here."""
        if offset_reset not in ("earliest", "latest"):
            raise BusError(f"offset_reset must be 'earliest' or 'latest', got {offset_reset!r}", transient=False)
        return MemoryConsumer(self, group_id, tuple(topics), offset_reset)

    def assigned_consumer(self, topic: str, settings: ConsumerSettings | None = None) -> AssignedConsumer:
        """``settings`` are accepted for parity with Kafka; timeouts do not apply here."""
        with self._cond:
            if topic not in self._topics:
                self._create(topic, self.settings.default_partitions)
        return MemoryAssignedConsumer(self, topic)

    def partition_count(self, topic: str) -> int:
        count = self.partitions(topic)
        if count == 0:
            raise BusError(f"topic {topic} does not exist", transient=False)
        return count

    def ping(self, timeout: float = 5.0) -> None:
        """Always reachable."""

    def health(self) -> BusHealth:
        """Always ok; ``lost_records`` is every record a consumer of this bus skipped
        because retention deleted it first (the operator must see it, not only the log)."""
        with self._cond:
            return BusHealth(ok=True, reason="", since_ns=0, lost_records=self._lost)

    def close(self) -> None:
        """Nothing to release: a named bus lives as long as the process."""

    def partitions(self, topic: str) -> int:
        """Partition count of ``topic`` (0 if it does not exist)."""
        with self._cond:
            found = self._topics.get(topic)
            return len(found.logs) if found else 0

    # --- internals (called with the lock held) ----------------------------------

    def _create(self, name: str, partitions: int) -> _Topic:
        topic = self._topics[name] = _Topic(partitions, self.settings)
        for group in self._groups.values():
            if any(name in member.topics for member in group.members):
                self._rebalance(group)
        return topic

    def _append(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> Record:
        found = self._topics.get(topic) or self._create(topic, self.settings.default_partitions)
        count = len(found.logs)
        if partition is None:
            partition = next(found.round_robin) % count if key is None else partition_of(key, count)
        elif not 0 <= partition < count:
            raise BusError(f"topic {topic} has no partition {partition} (it has {count})", transient=False)
        log = found.logs[partition]
        record = Record(topic, partition, log.end, key, value, self._clock_ms())
        if log.append(record):
            self._overruns.report(TopicPartition(topic, partition), log, self._groups)
        if self._waiting:
            self._cond.notify_all()
        return record

    def _log(self, tp: TopicPartition) -> PartitionLog:
        return self._topics[tp.topic].logs[tp.partition]

    def _update_holds(self, partitions: Iterable[TopicPartition]) -> None:
        """Each partition's log keeps what the lowest committed offset of a live group needs."""
        for tp in partitions:
            topic = self._topics.get(tp.topic)
            if topic is None or tp.partition >= len(topic.logs):
                continue
            topic.logs[tp.partition].hold = lowest_hold(self._groups, tp)

    def _join(self, member: MemoryConsumer) -> _Group:
        for name in member.topics:
            if name not in self._topics:
                self._topics[name] = _Topic(self.settings.default_partitions, self.settings)
        group = self._groups.setdefault(member.group_id, _Group())
        group.members.append(member)
        self._update_holds(group.committed)
        self._rebalance(group)
        return group

    def _leave(self, member: MemoryConsumer) -> None:
        group = self._groups[member.group_id]
        group.members.remove(member)
        member.rebalanced(set(), group.committed)
        self._update_holds(group.committed)
        self._rebalance(group)

    def _rebalance(self, group: _Group) -> None:
        """Partition p of a topic goes to its subscribers[p % count], in join order."""
        targets: dict[MemoryConsumer, set[TopicPartition]] = {m: set() for m in group.members}
        for name in sorted({t for m in group.members for t in m.topics}):
            subscribers = [m for m in group.members if name in m.topics]
            topic = self._topics.get(name)
            for partition in range(len(topic.logs) if topic else 0):
                targets[subscribers[partition % len(subscribers)]].add(TopicPartition(name, partition))
        for member, partitions in targets.items():
            member.rebalanced(partitions, group.committed)
            note_start(group.started, member._reset, member._positions)
        self._update_holds(group.started)
        if self._waiting:
            self._cond.notify_all()  # a waiting member may now own records

    def _reset_position(self, tp: TopicPartition, policy: OffsetReset) -> int:
        log = self._log(tp)
        return log.start if policy == "earliest" else log.end


class MemoryProducer(Producer):
    """Appends at once; delivery callbacks are queued and served by ``poll``/``flush``."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._pending: deque[tuple[DeliveryCallback, Delivery]] = deque()
        self._closed = False

    def publish(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes,
        on_delivery: DeliveryCallback | None = None,
        *,
        partition: int | None = None,
    ) -> None:
        if self._closed:
            raise BusError("producer is closed", transient=False)
        raw_key = key.encode() if isinstance(key, str) else key
        with self._bus._cond:
            record = self._bus._append(topic, raw_key, value, partition)
        if on_delivery is not None:
            delivery = Delivery(topic, raw_key, record.partition, record.offset, None)
            self._pending.append((on_delivery, delivery))

    def poll(self, timeout: float = 0.0) -> None:
        """Serve queued callbacks; a callback that raises propagates (the rest stay queued)."""
        while self._pending:
            callback, delivery = self._pending.popleft()
            callback(delivery)

    def flush(self, timeout: float = 10.0) -> None:
        self.poll()

    def close(self, timeout: float = 10.0) -> None:
        if not self._closed:
            self.flush(timeout)
            self._closed = True


class MemoryConsumer(MemoryReader, Consumer):
    """One member of a group; its assignment changes under the bus lock."""

    def __init__(self, bus: MemoryBus, group_id: str, topics: tuple[str, ...], reset: OffsetReset) -> None:
        super().__init__(bus, f"consumer of group {group_id}", reset)
        self.group_id = group_id
        self.topics = topics
        with bus._cond:
            self._group = bus._join(self)

    def rebalanced(self, partitions: set[TopicPartition], committed: Mapping[TopicPartition, int]) -> None:
        """Called by the bus on every rebalance of the group. Eager, like the Kafka
        adapter: each owned partition restarts at the committed offset (or the reset
        policy), so what was polled but not committed is delivered again."""
        positions: dict[TopicPartition, int] = {}
        for tp in sorted(partitions, key=lambda t: (t.topic, t.partition)):
            offset = committed.get(tp)
            positions[tp] = offset if offset is not None else self._bus._reset_position(tp, self._reset)
        self._positions = positions
        self._polled = {}

    def commit(self, records: Iterable[Record] | None = None) -> None:
        """Offsets of partitions no longer assigned are ignored (their new owner redelivers)."""
        if records is None:
            offsets = dict(self._polled)
        else:
            offsets = {}
            for record in records:
                tp = TopicPartition(record.topic, record.partition)
                offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        with self._bus._cond:
            if self._closed:
                raise BusError("consumer is closed", transient=False)
            stored = [tp for tp in offsets if tp in self._positions]
            for tp in stored:
                self._group.committed[tp] = offsets[tp]
            self._bus._update_holds(stored)

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        with self._bus._cond:
            return {tp: self._group.committed.get(tp) for tp in partitions}

    def close(self) -> None:
        with self._bus._cond:
            if not self._closed:
                self._closed = True
                self._bus._leave(self)


class MemoryAssignedConsumer(MemoryReader, AssignedConsumer):
    """Reads the partitions of ``topic`` it is assigned; no group, holds no retention."""

    def __init__(self, bus: MemoryBus, topic: str) -> None:
        super().__init__(bus, f"assigned consumer of {topic}", "latest")
        self.topic = topic

    def assign(self, partitions: Collection[int]) -> None:
        """Under the bus lock: a new partition starts at the end its log has now."""
        with self._bus._cond:
            if self._closed:
                raise BusError("consumer is closed", transient=False)
            count = len(self._bus._topics[self.topic].logs)
            unknown = sorted(p for p in partitions if not 0 <= p < count)
            if unknown:
                raise BusError(f"topic {self.topic} has no partition(s) {unknown} (it has {count})", transient=False)
            wanted = {TopicPartition(self.topic, p) for p in partitions}
            kept = {tp: offset for tp, offset in self._positions.items() if tp in wanted}
            for tp in sorted(wanted - kept.keys(), key=lambda t: t.partition):
                kept[tp] = self._bus._log(tp).end
            self._positions = kept
            self._polled = {tp: offset for tp, offset in self._polled.items() if tp in wanted}

    def close(self) -> None:
        with self._bus._cond:
            self._closed = True
