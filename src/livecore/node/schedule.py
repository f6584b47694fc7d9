"""The seed's schedule-updates loop: topic ``schedule.updates``, group
``execution_node_{node_id}``, offset ``latest`` (only commands issued after
start-up), one command at a time through the ``CommandDispatcher``. Nothing is
committed: a restarted node starts at ``latest`` again, and whatever it missed
would have expired anyway.

Each command runs under the loop's ``RecordGuard``: a command whose handling
raises is dead-lettered (with the exception) and the next command runs; only a
coordination store or database that does not answer makes the loop wait and
try the same command again (every command is idempotent)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from livecore.isolation import Outcome
from livecore.node.commands import CommandDispatcher
from livecore.node.deadletter import DeadLetters
from livecore.node.loop import ConsumerLoop
from livecore.ports.bus import Consumer, Record


class ScheduleUpdatesLoop(ConsumerLoop):
    label = "schedule_updates"

    def __init__(
        self,
        consumer_factory: Callable[[], Consumer],
        should_run: Callable[[], bool],
        poll_batch: int,
        poll_timeout_s: float,
        dispatcher: CommandDispatcher,
        dead_letters: DeadLetters,
        **isolation: Any,
    ) -> None:
        super().__init__(consumer_factory, should_run, poll_batch, poll_timeout_s, **isolation)
        self._dispatcher = dispatcher
        self._dead_letters = dead_letters

    def handle(self, consumer: Consumer, records: list[Record]) -> None:
        for record in records:
            if not self._should_run():
                return  # shut down by an earlier command: the rest targets a stopped node
            self.last_alive = time.monotonic()
            outcome = self.guard.run(
                partial(self._dispatcher.handle, record),
                partial(self._dead_letters.send, record),
                f"command {record.topic}[{record.partition}]@{record.offset}",
            )
            if outcome is Outcome.STOPPED:
                return
