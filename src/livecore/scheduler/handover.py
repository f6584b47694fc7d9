"""The hand-over thread: acts on migration acks as they arrive.

A source's ack that arrives in the middle of a pass used to wait for the pass
to end (passes take tens to hundreds of ms on a loaded machine, more than the
whole rest of a migration). This thread polls the acks of the migrations in
flight every ``ack_poll`` seconds, whatever the pass is doing, and carries
out the next step at once: on the source's ack the new epoch is granted to
the target and its load sent; on the target's ack the migration ends.

It never races the pass: every step and every read of the migrations in
flight goes through the ``MigrationRunner``'s lock, and the pass leaves alone
the portfolios that were migrating when it read the registry, even if their
migration ends meanwhile (``Scheduler.tick``). It acts only while the
scheduler leads (``acting``); it sleeps while no migration is in flight,
until ``wake``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from livecore.control.requests import MigrationResult
from livecore.scheduler.migration import MigrationRunner

log = logging.getLogger(__name__)

# while idle, look again this often even without a wake (a missed wake costs this much)
IDLE_WAIT_S = 0.5


class Handover:
    """Run with ``start(stop)`` and ``join()``; ``wake()`` after a migration begins."""

    def __init__(
        self,
        *,
        runner: MigrationRunner,
        acting: Callable[[], bool],
        alive: Callable[[], frozenset[str]],
        finished: Callable[[list[MigrationResult]], None],
        poll_s: float,
        name: str = "scheduler-handover",
    ) -> None:
        """``alive``: the nodes alive at the last pass; ``finished``: told the
        migrations this thread ended."""
        self._runner = runner
        self._acting = acting
        self._alive = alive
        self._finished = finished
        self._poll_s = poll_s
        self._name = name
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(stop,), name=self._name, daemon=True)
            self._thread.start()

    def join(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """A migration began: start polling its acks now."""
        self._wake.set()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            busy = len(self._runner) > 0
            if busy and self._acting():
                try:
                    self._finished(self._runner.poll(self._alive(), {}))
                except Exception:
                    log.exception("migration hand-over failed")
            if stop.is_set():
                return
            if busy:
                stop.wait(self._poll_s)
            else:
                self._wake.wait(IDLE_WAIT_S)
