"""The seed's schedule-updates loop: topic ``schedule.updates``, group
``execution_node_{node_id}``, offset ``latest`` (only commands issued after
start-up), one command at a time through the ``CommandDispatcher``. Nothing is
committed: a restarted node starts at ``latest`` again, and whatever it missed
would have expired anyway.

A command is decoded and verified once (``CommandDispatcher.admit``): its
nonce is then spent, so verification is never retried; if admitting raises
(a defect) the record is dead-lettered at once. Only the handler and its ack
run under the loop's ``RecordGuard`` (``execute``): a coordination store or
database that does not answer makes the loop wait and run the same handler
again (every handler is idempotent; an outcome already reached is not
recomputed, only its ack rewritten). A command given up by the guard is
dead-lettered with its reason and acknowledged ``ok=False`` (``internal
error``), and the next command runs.

While a preparation awaits an announced load, the loop polls in slices of
``WATCH_SLICE_S`` and checks its fence after each (``node/fencewatch.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from livecore.isolation import RecordOutcome
from livecore.node.commands import Admitted, CommandDispatcher
from livecore.node.deadletter import DeadLetters
from livecore.node.fencewatch import WATCH_SLICE_S, FenceWatch
from livecore.node.loop import ConsumerLoop, LoopSettings
from livecore.ports.bus import Consumer, Record
from livecore.wire import names


class ScheduleUpdatesLoop(ConsumerLoop):
    label = names.SCHEDULE_LOOP

    def __init__(
        self,
        *,
        consumer_factory: Callable[[], Consumer],
        should_run: Callable[[], bool],
        settings: LoopSettings,
        dispatcher: CommandDispatcher,
        dead_letters: DeadLetters,
        fence_watch: FenceWatch | None = None,
    ) -> None:
        super().__init__(consumer_factory=consumer_factory, should_run=should_run, settings=settings)
        self._dispatcher = dispatcher
        self._dead_letters = dead_letters
        self._fence_watch = fence_watch

    def _wait_s(self) -> float:
        watch = self._fence_watch
        return WATCH_SLICE_S if watch is not None and watch.watching() else super()._wait_s()

    def handle(self, consumer: Consumer, records: list[Record]) -> None:
        """The commands first (a prepare starts a watch), then the fences watched."""
        self._run_commands(records)
        if self._fence_watch is not None and self._should_run():
            self._fence_watch.check()

    def _run_commands(self, records: list[Record]) -> None:
        for record in records:
            if not self._should_run():
                return  # shut down by an earlier command: the rest targets a stopped node
            self.last_alive = time.monotonic()
            what = f"command {record.topic}[{record.partition}]@{record.offset}"
            try:
                admitted = self._dispatcher.admit(record)
            except Exception as exc:  # verification is never retried: its nonce is spent
                self._dead_letters.send(record, self.poisoned(what, exc))
                continue
            if admitted is None:
                continue
            outcome = self.guard.run(
                partial(self._dispatcher.execute, admitted), partial(self._give_up, record, admitted), what
            )
            if outcome is RecordOutcome.STOPPED:
                return

    def _give_up(self, record: Record, admitted: Admitted, reason: str) -> None:
        try:
            self._dispatcher.abandon(admitted, reason)
        finally:
            self._dead_letters.send(record, reason)
