"""The shape every consumer thread of the node shares.

A loop owns its consumer (created on its own thread, closed when the loop
ends, as the seed says), stamps ``last_alive`` every iteration so the
heartbeat can tell a stuck loop from a live one, and isolates each record:
subclasses run a record's work through ``self.guard`` (see
``livecore.isolation``) or dead-letter it themselves, so one record that raises
is dead-lettered and the next one is processed. What still escapes a batch
(the consumer failing) is logged and counted, never the end of the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from livecore.faults import RetryPolicy
from livecore.isolation import RecordGuard, always_answer, wait_while
from livecore.ports.bus import Consumer, Record

log = logging.getLogger(__name__)

# polls after the first assignment before a loop calls itself ready: by then the
# consumer has fetched, so its start position ("latest") is fixed
_READY_AFTER_POLLS = 2
_ERROR_PAUSE_S = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopSettings:
    """How a consumer loop polls and retries a record: ``policy`` bounds the tries of
    one record, and the loop waits instead of trying while ``probe`` says a backend
    it needs does not answer (``livecore.isolation``)."""

    poll_batch: int
    poll_timeout_s: float
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    probe: Callable[[], bool] = always_answer


class ConsumerLoop:
    """Subclasses implement ``handle``; ``run`` is the thread target."""

    label = "loop"

    def __init__(
        self,
        *,
        consumer_factory: Callable[[], Consumer],
        should_run: Callable[[], bool],
        settings: LoopSettings,
    ) -> None:
        self._consumer_factory = consumer_factory
        self._should_run = should_run
        self._poll_batch = settings.poll_batch
        self._poll_timeout = settings.poll_timeout_s
        self.last_alive = time.monotonic()
        self.ready = threading.Event()
        self.errors = 0
        self._assigned_polls = 0
        self.guard = RecordGuard(
            label=self.label,
            policy=settings.policy,
            probe=settings.probe,
            wait=wait_while(should_run),
            alive=self._stamp,
        )

    @property
    def failed_records(self) -> int:
        """Records dead-lettered because handling them raised."""
        return self.guard.dead_lettered

    def poisoned(self, what: str, exc: Exception) -> str:
        """Count a record given up without retrying (the loop has no backend to wait
        for); return the dead-letter reason."""
        return self.guard.given_up(what, exc)

    def _stamp(self) -> None:
        self.last_alive = time.monotonic()

    def reset(self) -> None:
        """Before each (re)start: not ready until the new consumer is positioned."""
        self.ready.clear()
        self._assigned_polls = 0
        self.last_alive = time.monotonic()

    def run(self) -> None:
        self.last_alive = time.monotonic()
        try:
            consumer = self._consumer_factory()
        except Exception:
            log.exception("%s: cannot create its consumer; the loop is dead", self.label)
            return
        try:
            while self._should_run():
                self.last_alive = time.monotonic()
                try:
                    records = self.poll(consumer)
                    self._note_ready(consumer)
                    self.handle(consumer, records)
                except Exception:
                    self.errors += 1
                    log.exception("%s: batch failed; continuing", self.label)
                    time.sleep(_ERROR_PAUSE_S)
            self.finish(consumer)
        finally:
            try:
                consumer.close()
            except Exception:
                log.exception("%s: closing its consumer failed", self.label)

    def poll(self, consumer: Consumer) -> list[Record]:
        """Wait for the first record only, then take what is already fetched: a batch
        poll on librdkafka waits for the whole batch or the timeout, which would hold
        a lone tick back for up to ``poll_timeout_s``."""
        first = consumer.poll(1, self._wait_s())
        if not first or self._poll_batch == 1:
            return first
        return first + consumer.poll(self._poll_batch - 1, 0.0)

    def _wait_s(self) -> float:
        """How long a poll waits for its first record."""
        return self._poll_timeout

    def handle(self, consumer: Consumer, records: list[Record]) -> None:
        raise NotImplementedError

    def finish(self, consumer: Consumer) -> None:
        """Called on the loop's thread after the run flag dropped, before close."""

    def _note_ready(self, consumer: Consumer) -> None:
        if self.ready.is_set():
            return
        if consumer.assignment():
            self._assigned_polls += 1
            if self._assigned_polls >= _READY_AFTER_POLLS:
                self.ready.set()
