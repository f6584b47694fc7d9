"""The seed's schedule-updates loop: topic ``schedule.updates``, group
``execution_node_{node_id}``, offset ``latest`` (only commands issued after
start-up), one command at a time through the ``CommandDispatcher``. Nothing is
committed: a restarted node starts at ``latest`` again, and whatever it missed
would have expired anyway."""

from __future__ import annotations

import time
from collections.abc import Callable

from livecore.node.commands import CommandDispatcher
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
    ) -> None:
        super().__init__(consumer_factory, should_run, poll_batch, poll_timeout_s)
        self._dispatcher = dispatcher

    def handle(self, consumer: Consumer, records: list[Record]) -> None:
        for record in records:
            if not self._should_run():
                return  # shut down by an earlier command: the rest targets a stopped node
            self.last_alive = time.monotonic()
            self._dispatcher.handle(record)
