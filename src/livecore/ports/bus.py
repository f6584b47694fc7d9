"""The message-bus port: topics, keyed messages, consumer groups, offsets.

Two implementations share this contract and one test suite: ``MemoryBus``
(in-process, for ``livecore run`` and fast tests) and ``KafkaBus``
(confluent-kafka). Semantics follow Kafka's:

- a topic has N partitions; a message's partition is a stable hash of its key,
  so per-key order is kept;
- consumers in one group split the partitions; when one leaves, the others
  take its partitions over and resume from the group's committed offsets;
- a group with no committed offset starts at ``earliest`` or ``latest``;
- offsets are committed explicitly (``commit``), never automatically: what a
  consumer has not committed is delivered again after a restart;
- a consumer whose position fell behind the partition's retention (the records
  it would read next were deleted) resumes by its ``offset_reset`` policy, like
  Kafka's ``auto.offset.reset``, and says so: the skipped records are logged at
  WARNING, counted by ``lost_records`` and summed in ``BusHealth.lost_records``
  (which reaches ``livecore status``);
- a producer may name the partition itself (``publish(..., partition=p)``);
  ``market.data`` producers do, with the wire's partitioner
  (``wire/partitioning.py``);
- an ``AssignedConsumer`` reads the partitions it is told to, of one topic,
  without a group: no rebalance, no commit; each partition it is given starts at
  the partition's end (``latest``) and the set can change while it runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from livecore.wire.messages import DeadLetter

OffsetReset = Literal["earliest", "latest"]


class Record(msgspec.Struct, frozen=True, gc=False):
    """One consumed message. A msgspec struct rather than a dataclass: one is built
    per record on the hot path and this is about ten times cheaper (fields only
    hold str/int/bytes, so it needs no garbage-collector tracking)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


def dead_letter(record: Record, reason: str, component: str, ts_ns: int) -> DeadLetter:
    """The ``<topic>.dlq`` message for a record that could not be processed: the
    record's coordinates and raw bytes, why, and who gave up on it."""
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        payload=record.value,
        reason=reason,
        component=component,
        ts_ns=ts_ns,
    )


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """Outcome of one publish: ``error`` is None when the broker has it durably."""

    topic: str
    key: bytes | None
    partition: int
    offset: int
    error: str | None


DeliveryCallback = Callable[[Delivery], None]


class BusError(Exception):
    """A bus operation failed (broker unreachable, delivery failed, ...).

    ``transient`` says whether trying again later can succeed: True (the default)
    for a broker that does not answer or is overloaded; the adapters pass False
    where the broker or the client answered "no" for good (closed producer or
    consumer, partition not assigned, message too large, bad argument), so a
    consumer loop does not wait on it as on an outage (``faults.classify``)."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """Tuning knobs of a consumer; defaults suit the embedded bus and tests."""

    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1500
    fetch_wait_max_ms: int = 20
    max_poll_interval_ms: int = 300_000


class Producer(ABC):
    """Publishes keyed messages. Thread-safe."""

    @abstractmethod
    def publish(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes,
        on_delivery: DeliveryCallback | None = None,
        *,
        partition: int | None = None,
    ) -> None:
        """Queue a message; ``on_delivery`` runs once it is acknowledged or failed
        (from ``poll``/``flush`` or a background thread, never re-entrantly).
        ``partition``: where it goes (None: by the key's hash, CRC-32 on both
        buses); one the topic does not have fails the publish or its delivery."""

    @abstractmethod
    def poll(self, timeout: float = 0.0) -> None:
        """Serve pending delivery callbacks."""

    @abstractmethod
    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued message is delivered or failed; raise
        ``BusError`` if some are still pending at the timeout."""

    def publish_sync(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes,
        timeout: float = 10.0,
        *,
        partition: int | None = None,
    ) -> Delivery:
        """Publish one message and wait for its delivery; raise ``BusError`` on failure."""
        outcome: list[Delivery] = []
        self.publish(topic, key, value, outcome.append, partition=partition)
        self.flush(timeout)
        if not outcome:
            raise BusError(f"no delivery report for {topic} within {timeout}s")
        if outcome[0].error is not None:
            raise BusError(f"delivery to {topic} failed: {outcome[0].error}")
        return outcome[0]

    @abstractmethod
    def close(self, timeout: float = 10.0) -> None:
        """Flush and release resources."""


class Consumer(ABC):
    """Reads from subscribed topics as a member of a consumer group. Not thread-safe:
    one consumer belongs to one thread."""

    @abstractmethod
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Up to ``max_records`` records, waiting at most ``timeout`` seconds for the first.
        Records of one partition come in offset order."""

    @abstractmethod
    def commit(self, records: Iterable[Record] | None = None) -> None:
        """Commit, synchronously, the offsets after ``records`` (or after everything
        polled so far when None)."""

    @abstractmethod
    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed next-offset per partition (None if never committed)."""

    @abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """Partitions currently assigned to this member."""

    @abstractmethod
    def pause(self) -> None:
        """Stop fetching from every assigned partition (membership is kept)."""

    @abstractmethod
    def resume(self) -> None:
        """Undo ``pause``."""

    @abstractmethod
    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Make the next poll of ``partition`` start at ``offset`` (partition must be assigned)."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group (its partitions go to the other members) and release resources."""

    def lost_records(self) -> int | None:
        """Records this consumer skipped because retention deleted them before it read
        them (its position was out of range), since it was created; None when the
        backend cannot tell (it then only logs what the client library reports)."""
        return None


class AssignedConsumer(Consumer):
    """Reads the partitions of one topic it is told to (``assign``), without a
    consumer group: no rebalance, nothing committed, no other member involved.
    A partition it is newly given starts at its end (``latest``); one it keeps
    keeps its position; one it loses is no longer fetched. Used by one thread,
    except ``wakeup``."""

    topic: str

    @abstractmethod
    def assign(self, partitions: Collection[int]) -> None:
        """Make ``partitions`` (of ``topic``) the whole assignment. When this returns,
        every newly given partition is positioned at its end as of the call: each
        record published after it returned is polled, none published before.
        Raise ``BusError`` for a partition the topic does not have."""

    @abstractmethod
    def wakeup(self) -> None:
        """Make a ``poll`` waiting in another thread return soon (perhaps empty), so
        that its thread can change the assignment. Thread-safe; a wakeup with no poll
        waiting shortens the next one."""

    def commit(self, records: Iterable[Record] | None = None) -> None:
        """Nothing to commit to: an assigned consumer has no group."""
        raise BusError("an assigned consumer has no group to commit to", transient=False)

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """Never anything: an assigned consumer has no group."""
        return dict.fromkeys(partitions)


# --- health signal --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BusHealth:
    """Whether the bus works for this process right now. ``reason`` says what is
    wrong (empty when ok); ``since_ns`` is the wall-clock time of the last change.
    ``lost_records``: records this process's consumers skipped because retention
    deleted them first, since the bus was opened (None: the backend cannot tell).
    It does not make ``ok`` false (the bus works), but status reports it."""

    ok: bool
    reason: str
    since_ns: int
    lost_records: int | None = None


HEALTHY = BusHealth(ok=True, reason="", since_ns=0)


class Bus(ABC):
    """Factory for producers and consumers on one cluster (or one in-process bus)."""

    url: str

    @abstractmethod
    def create_topics(self, topics: Mapping[str, int]) -> None:
        """Create each topic with the given partition count; existing topics are left alone."""

    @abstractmethod
    def producer(self, linger_ms: int | None = None) -> Producer:
        """A new producer (idempotent where the backend supports it). ``linger_ms``: how
        long a message may wait to be batched with others before it is sent (None: the
        bus's own setting; 0: at once, for latency); a bus that never batches ignores it."""

    @abstractmethod
    def consumer(
        self,
        group_id: str,
        topics: Sequence[str],
        offset_reset: OffsetReset = "latest",
        settings: ConsumerSettings | None = None,
    ) -> Consumer:
        """A new member of ``group_id`` subscribed to ``topics``."""

    @abstractmethod
    def assigned_consumer(self, topic: str, settings: ConsumerSettings | None = None) -> AssignedConsumer:
        """A new consumer of ``topic`` that reads only the partitions it is assigned
        (none at first); the topic is created (with the bus's default count) if missing."""

    @abstractmethod
    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has; ``BusError`` if it does not exist."""

    @abstractmethod
    def ping(self, timeout: float = 5.0) -> None:
        """Raise ``BusError`` if the backend cannot be reached."""

    def health(self) -> BusHealth:
        """Health as this process sees it (broker reachable, topics as laid out,
        producers working). An in-process bus is always healthy."""
        return HEALTHY

    @abstractmethod
    def close(self) -> None:
        """Release shared resources (admin clients, ...)."""
