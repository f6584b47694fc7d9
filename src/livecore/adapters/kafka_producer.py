"""A Kafka producer that survives broker outages and fatal errors.

librdkafka's idempotent producer does not come back from a broker that lost
its state: after a restart with memory storage its messages time out
(measured on Tansu 0.6.0), and ``UnknownProducerId`` / ``OutOfOrderSequence``
are fatal errors after which it refuses every message. So this wrapper keeps
every message until the broker acknowledged it, and **rebuilds** the
librdkafka producer when

- librdkafka reports a fatal error (``error_cb`` or a delivery report), or
- the broker comes back after an outage (``BrokerState.generation`` grew: the
  watchdog saw it answer again with the topics restored),

then resends what was not acknowledged, in publish order, with the same bytes
(so with the same message ids: consumers de-duplicate by them). A message is
reported to the caller once: delivered, or failed for a non-fatal reason
(the caller retries, as before). A resend that librdkafka refuses is such a
failure: reported through the message's delivery callback, never left pending
(``flush`` would otherwise wait on it forever). Resends may duplicate a message
the broker had already stored: the bus is at-least-once.

Ordering: per key, messages keep their publish order within one librdkafka
client (idempotence). Across a rebuild they may not: a resent message can land
after a later message of the same key that the old client had already got
acknowledged. Consumers tolerate it because every message carries a unique id
and its handling is keyed by that id (an order by ``client_order_id``, a
report by its order and sequence), not by its position in the partition.

A broker that loses its data (memory storage) also loses messages it had
acknowledged but nobody had consumed yet: an order the node saw confirmed
that never reaches the gateway waits for an answer forever. So acknowledged
messages are kept for ``replay_window_s`` (and at most ``replay_max``), and
when the watchdog saw a topic recreated, those of that topic are published
again with the unacknowledged ones, in publish order.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as RdProducer

from livecore.adapters.kafka_callbacks import CallbackFaults
from livecore.adapters.kafka_config import LOG, KafkaSettings, error_callback, producer_config
from livecore.adapters.kafka_health import PRODUCER, BrokerState
from livecore.faults import kafka_error_is_transient
from livecore.ports.bus import BusError, Delivery, DeliveryCallback, Producer

# How long ``publish`` waits for room when librdkafka's local queue is full.
QUEUE_FULL_WAIT_S = 0.05
# librdkafka never holds more than this many messages (``queue.buffering.max.messages``,
# set to it): a message published without a callback this many publishes ago has its
# fate decided, so untracked messages are kept for a resend only this far back.
UNTRACKED_MAX = 100_000
# ``flush`` waits in slices this long so that a rebuild during the wait is noticed.
FLUSH_SLICE_S = 0.25
_FATAL = KafkaError._FATAL
_PURGED = (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)

# (topic, key, value, callback, partition: None = by the key's hash)
Pending = tuple[str, bytes | str | None, bytes, DeliveryCallback | None, int | None]
# (seq, acknowledged at (monotonic), topic, key, value, partition)
Acked = tuple[int, float, str, bytes | str | None, bytes, int | None]
# (seq, topic, key, value, partition)
Unreported = tuple[int, str, bytes | str | None, bytes, int | None]


class KafkaProducer(Producer):
    """Delivery reports are only queued inside librdkafka's poll; the caller's
    callbacks run from ``poll``/``flush``, in the caller's thread, never inside
    ``publish``. Thread-safe."""

    def __init__(
        self, settings: KafkaSettings, state: BrokerState, *, watch: Callable[[str], None] | None = None
    ) -> None:
        self._settings = settings
        self._state = state
        # told each topic once, at its first publish: the bus's watchdog then notices the
        # topic being recreated even when it never saw the broker down (a short outage)
        self._watch = watch
        self._topics: set[str] = set()
        self._lock = threading.RLock()
        self._reports: deque[tuple[DeliveryCallback, Delivery]] = deque()
        self._unacked: dict[int, Pending] = {}
        self._acked: deque[Acked] = deque()
        # published without a callback: no delivery report (confluent-kafka's per-message
        # report costs ~10 us); decided once librdkafka holds nothing or UNTRACKED_MAX later
        self._untracked: deque[Unreported] = deque()
        self._replayed_generation = state.generation
        self._seq = 0
        self._build = 0
        self._generation = state.generation
        self._fatal: str | None = None
        self._closed = False
        self.rebuilds = 0
        self.resent = 0
        self.replayed = 0
        self._faults = CallbackFaults("producer")
        self._producer = self._new_client()

    def _new_client(self) -> RdProducer:
        on_error = error_callback(self._state, self._on_fatal, self._faults)
        return RdProducer(producer_config(self._settings, on_error))

    # --- Producer ------------------------------------------------------------------

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
        self._rebuild_if_needed()
        if topic not in self._topics:
            self._topics.add(topic)
            if self._watch is not None:
                self._watch(topic)
        with self._lock:
            self._seq += 1
            seq = self._seq
            if on_delivery is None:
                self._untracked.append((seq, topic, key, value, partition))
                if len(self._untracked) > UNTRACKED_MAX:
                    self._keep(*self._untracked.popleft())
                try:
                    self._produce(seq, topic, key, value, partition, tracked=False)
                except BusError:
                    self._untracked.pop()
                    raise
                return
            self._unacked[seq] = (topic, key, value, on_delivery, partition)
            try:
                self._produce(seq, topic, key, value, partition)
            except BusError:
                del self._unacked[seq]
                raise

    def _produce(
        self,
        seq: int,
        topic: str,
        key: bytes | str | None,
        value: bytes,
        partition: int | None,
        tracked: bool = True,
    ) -> None:
        report = functools.partial(self._on_report, self._build, seq) if tracked else None
        where = -1 if partition is None else partition  # librdkafka's -1: its partitioner decides
        while True:
            try:
                if report is None:
                    self._producer.produce(topic, value, key, where)
                else:
                    self._producer.produce(topic, value, key, where, on_delivery=report)
                return
            except BufferError:
                # Local queue full: let librdkafka hand over finished reports (they are
                # only queued here, so no caller callback runs) and try again.
                self._serve_client(lambda: self._producer.poll(QUEUE_FULL_WAIT_S))
            except KafkaException as exc:
                error = exc.args[0]
                if error.fatal():
                    self._on_fatal(error)
                    return  # kept unacknowledged: resent by the rebuild
                transient = kafka_error_is_transient(error)
                raise BusError(f"cannot publish to {topic}: {error.str()}", transient=transient) from None

    def poll(self, timeout: float = 0.0) -> None:
        self._rebuild_if_needed()
        self._serve_client(lambda: self._producer.poll(0.0 if self._reports else timeout))
        self._serve()
        self._settle_untracked()

    def _settle_untracked(self) -> bool:
        """True when no untracked message is outstanding: librdkafka holds nothing, so
        each was delivered or failed (failures of untracked messages are not reported)."""
        if not self._untracked:
            return True
        with self._lock:
            if len(self._producer) > 0:
                return False
            for entry in self._untracked:
                self._keep(*entry)
            self._untracked.clear()
            return True

    def _serve_client(self, call: Callable[[], object]) -> None:
        """librdkafka's poll/flush raise once the client hit a fatal error: that is a
        reason to rebuild (on the next call), not the caller's problem."""
        try:
            call()
        except KafkaException as exc:
            error = exc.args[0]
            if not error.fatal():
                raise BusError(f"producer failed: {error.str()}", transient=kafka_error_is_transient(error)) from None
            self._on_fatal(error)
        finally:
            self._check_callbacks()

    def flush(self, timeout: float = 10.0) -> None:
        """Waits across a rebuild: done when every message is acknowledged or failed."""
        deadline = time.monotonic() + timeout
        while True:
            self._rebuild_if_needed()
            wait = max(0.0, min(FLUSH_SLICE_S, deadline - time.monotonic()))
            self._serve_client(functools.partial(self._producer.flush, wait))
            self._serve()
            if self._settle_untracked() and not self._unacked:
                return
            if time.monotonic() >= deadline:
                raise BusError(f"{self.unacknowledged} message(s) still undelivered after {timeout}s")

    def close(self, timeout: float = 10.0) -> None:
        if not self._closed:
            self._closed = True
            self.flush(timeout)

    @property
    def unacknowledged(self) -> int:
        return len(self._unacked) + len(self._untracked)

    # --- delivery reports (run inside librdkafka's poll/flush) -------------------------

    def _on_report(self, build: int, seq: int, error: KafkaError | None, message: Any) -> None:
        """Total (see ``kafka_callbacks``): a report that cannot be handled leaves its
        message unacknowledged and makes the next call rebuild, which resends it."""
        try:
            self._report(build, seq, error, message)
        except BaseException as exc:  # nothing may stay pending in librdkafka
            self._faults.record("delivery report", exc)

    def _report(self, build: int, seq: int, error: KafkaError | None, message: Any) -> None:
        if build != self._build:
            return  # from a replaced client: the message was resent by the rebuild
        if error is not None and (error.fatal() or error.code() == _FATAL):
            self._on_fatal(error)
            return
        if error is not None and error.code() in _PURGED:
            return
        delivery = Delivery(
            topic=message.topic(),
            key=message.key(),
            partition=message.partition(),
            offset=message.offset(),
            error=None if error is None else error.str(),
        )
        with self._lock:
            pending = self._unacked.pop(seq, None)
            if pending is not None and error is None:
                self._keep(seq, pending[0], pending[1], pending[2], pending[4])
        if pending is not None and pending[3] is not None:
            self._reports.append((pending[3], delivery))

    def _keep(self, seq: int, topic: str, key: bytes | str | None, value: bytes, partition: int | None) -> None:
        """Keep an acknowledged message for a replay after a data loss (bounded)."""
        window = self._settings.replay_window_s
        if window <= 0:
            return
        now = time.monotonic()
        acked = self._acked
        acked.append((seq, now, topic, key, value, partition))
        while acked and (len(acked) > self._settings.replay_max or acked[0][1] < now - window):
            acked.popleft()

    def _serve(self) -> None:
        """Run queued callbacks; one that raises propagates (the rest stay queued)."""
        while self._reports:
            callback, delivery = self._reports.popleft()
            callback(delivery)

    # --- rebuilding ------------------------------------------------------------------

    def _on_fatal(self, error: KafkaError) -> None:
        self._needs_rebuild(f"fatal error: {error.str()}")

    def _needs_rebuild(self, reason: str) -> None:
        if self._fatal is None:
            self._fatal = reason
            self._state.problem(PRODUCER, reason)

    def _check_callbacks(self) -> None:
        """After a librdkafka call: a callback that raised inside it leaves the client's
        state unknown (a report lost, a fatal error unseen), so the next call rebuilds
        and resends what is not acknowledged (consumers de-duplicate by id)."""
        faults = self._faults.take()
        if faults:
            name, text = faults[0]
            self._needs_rebuild(f"{len(faults)} callback(s) raised, first the {name} one: {text}")

    def _rebuild_if_needed(self) -> None:
        if self._fatal is None and self._generation == self._state.generation:
            return
        with self._lock:
            if self._fatal is None and self._generation == self._state.generation:
                return
            self._rebuild()

    def _rebuild(self) -> None:
        """Replace the client and resend every unacknowledged message. The broker
        generation is recorded only once every message is resent or reported
        failed; a fatal error during the resend makes the next call rebuild again."""
        reason = self._fatal or "the broker came back after an outage"
        generation = self._state.generation
        old = self._producer
        self._build += 1
        try:
            old.purge(in_queue=True, in_flight=True, blocking=False)
            old.poll(0)  # its reports belong to an old build: ignored
        except KafkaException as exc:
            LOG.warning("purging the replaced producer failed: %s", exc.args[0].str())
        self._faults.take()  # the replaced client's: logged, and the rebuild is under way
        self._fatal = None
        self._producer = self._new_client()
        self._state.clear(PRODUCER)
        resent, failed, replayed = self._resend()
        self._generation = generation
        self.rebuilds += 1
        self.resent += resent
        self.replayed += replayed
        LOG.warning(
            "producer rebuilt (%s): %d unacknowledged message(s) resent with the same ids, %d reported failed, "
            "%d acknowledged one(s) of recreated topics published again",
            reason,
            resent,
            failed,
            replayed,
        )

    def _resend(self) -> tuple[int, int, int]:
        """Resend in publish order: acknowledged messages of recreated topics, the
        unacknowledged ones and those published without a callback. A tracked message
        librdkafka refuses is reported failed to its caller (who retries it) instead of
        staying unacknowledged forever; a refused replay or untracked one is logged."""
        replay = self._replay()
        unacked = [(seq, topic, key, value, part) for seq, (topic, key, value, _, part) in self._unacked.items()]
        untracked = {entry[0] for entry in self._untracked}
        again: list[Unreported] = sorted([*replay, *unacked, *self._untracked], key=lambda message: abs(message[0]))
        resent = failed = 0
        for seq, topic, key, value, partition in again:
            try:
                self._produce(seq, topic, key, value, partition, tracked=seq not in untracked)
                resent += 1
            except BusError as exc:
                failed += 1
                if seq in self._unacked:
                    self._report_failed(seq, str(exc))
                else:
                    LOG.error("message to %s could not be published again after a rebuild: %s", topic, exc)
        return resent, failed, len(replay)

    def _report_failed(self, seq: int, error: str) -> None:
        """Settle ``seq`` as a failed delivery, through the normal callback path."""
        pending = self._unacked.pop(seq, None)
        if pending is None:
            return
        topic, key, _, callback, _ = pending
        if callback is None:
            LOG.error("message to %s dropped: no delivery callback to report %s", topic, error)
            return
        raw_key = key.encode() if isinstance(key, str) else key
        self._reports.append((callback, Delivery(topic=topic, key=raw_key, partition=-1, offset=-1, error=error)))

    def _replay(self) -> list[Unreported]:
        """Acknowledged messages of topics the broker lost since the last replay (their
        reports already ran: the replays report to nobody)."""
        since = self._replayed_generation
        self._replayed_generation = self._state.generation
        lost = {topic for topic, generation in self._state.recreated.items() if generation > since}
        if not lost:
            return []
        kept = [entry for entry in self._acked if entry[2] in lost]
        self._acked = deque(entry for entry in self._acked if entry[2] not in lost)
        return [(-seq, topic, key, value, partition) for seq, _, topic, key, value, partition in kept]
