"""How a consumer of the in-process bus reads: positions per partition, a
fair turn over them, ``poll`` waiting on the bus's condition, retention
overruns reported, pause, seek and wakeup. ``MemoryConsumer`` (a group
member) and ``MemoryAssignedConsumer`` (no group) share it; they differ only
in who decides their partitions.

Every method that touches positions runs under the bus lock, so an
assignment changed by the bus (a rebalance) or by ``assign`` is seen whole.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from livecore.adapters.memory_log import PartitionLog
from livecore.ports.bus import BusError, OffsetReset, Record, TopicPartition

if TYPE_CHECKING:
    from livecore.adapters.memory_bus import MemoryBus

LOG = logging.getLogger("livecore.bus")


class MemoryReader:
    """The reading half of an in-process consumer; ``name`` is what logs call it."""

    def __init__(self, bus: MemoryBus, name: str, reset: OffsetReset) -> None:
        self.name = name
        self._bus = bus
        self._reset: OffsetReset = reset
        self._positions: dict[TopicPartition, int] = {}
        self._polled: dict[TopicPartition, int] = {}
        self._paused = False
        self._closed = False
        self._woken = False
        self._turn = 0
        self._lost = 0

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        deadline = time.monotonic() + timeout
        with self._bus._cond:
            while True:
                if self._closed:
                    raise BusError("consumer is closed", transient=False)
                batch = self._collect(max_records)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._woken:
                    self._woken = False
                    return batch
                self._bus._waiting += 1
                try:
                    self._bus._cond.wait(remaining)
                finally:
                    self._bus._waiting -= 1

    def wakeup(self) -> None:
        """A ``poll`` waiting in another thread returns now (the next one, if none waits)."""
        with self._bus._cond:
            self._woken = True
            self._bus._cond.notify_all()

    def _collect(self, max_records: int) -> list[Record]:
        """Read from each assigned partition in turn, starting one further each call (fairness)."""
        if self._paused or not self._positions:
            return []
        partitions = list(self._positions)
        first = self._turn % len(partitions)
        self._turn += 1
        batch: list[Record] = []
        for tp in partitions[first:] + partitions[:first]:
            log = self._bus._log(tp)
            if self._positions[tp] < log.start:
                self._out_of_range(tp, log)
            chunk = log.read(self._positions[tp], max_records - len(batch))
            if chunk:
                batch.extend(chunk)
                self._positions[tp] = self._polled[tp] = chunk[-1].offset + 1
                if len(batch) >= max_records:
                    break
        return batch

    def _out_of_range(self, tp: TopicPartition, log: PartitionLog) -> None:
        """The next record to read was deleted by retention: resume by the reset policy
        and say how many records are lost (never skip them silently)."""
        position = self._positions[tp]
        resumed = log.start if self._reset == "earliest" else log.end
        self._positions[tp] = resumed
        self._lost += resumed - position
        self._bus._lost += resumed - position
        LOG.warning(
            "%s fell behind retention on %s[%d]: offset %d was deleted (log starts at %d); "
            "%d records lost, resuming at %s offset %d",
            self.name,
            tp.topic,
            tp.partition,
            position,
            log.start,
            resumed - position,
            self._reset,
            resumed,
        )

    def lost_records(self) -> int:
        return self._lost

    def assignment(self) -> set[TopicPartition]:
        with self._bus._cond:
            return set(self._positions)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def seek(self, partition: TopicPartition, offset: int) -> None:
        with self._bus._cond:
            if partition not in self._positions:
                raise BusError(f"cannot seek {partition.topic}[{partition.partition}]: not assigned", transient=False)
            self._positions[partition] = max(0, offset)
