"""Which records of the in-process bus a consumer group still needs.

Retention bounds memory for data nobody still needs: a partition keeps every
record from the lowest committed offset of the live groups (at least one
member) that committed on it, whatever the records' age or the byte budget,
until it outgrows ``HOLD_LIMIT`` times its budget (``memory_log.py``). Groups
that never commit (``latest`` market data) or have no member hold nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from livecore.adapters.memory_log import HOLD_LIMIT, PartitionLog
from livecore.ports.bus import TopicPartition

LOG = logging.getLogger("livecore.bus")


class GroupView(Protocol):
    """What the hold reads of a consumer group."""

    @property
    def members(self) -> Sequence[object]: ...

    @property
    def committed(self) -> Mapping[TopicPartition, int]: ...


def lowest_hold(groups: Mapping[str, GroupView], tp: TopicPartition) -> int | None:
    """The offset ``tp``'s log must keep from (None: no live group committed on it)."""
    offsets = [g.committed[tp] for g in groups.values() if g.members and tp in g.committed]
    return min(offsets) if offsets else None


class OverrunReporter:
    """Says at ERROR, once per held offset and partition (not once per record), that
    records a live group still needs were deleted to keep memory bounded; the
    consumer counts what it lost when it next polls."""

    def __init__(self) -> None:
        self._reported: dict[TopicPartition, int] = {}

    def report(self, tp: TopicPartition, log: PartitionLog, groups: Mapping[str, GroupView]) -> None:
        hold = log.hold if log.hold is not None else log.start
        if self._reported.get(tp) == hold:
            return
        self._reported[tp] = hold
        behind = sorted(gid for gid, g in groups.items() if g.members and g.committed.get(tp, log.start) < log.start)
        LOG.error(
            "%s[%d] outgrew %d bytes (%dx its retention budget) holding records for group(s) %s: "
            "deleting records they have not consumed (log now starts at %d, they committed %d)",
            tp.topic,
            tp.partition,
            log.budget * HOLD_LIMIT,
            HOLD_LIMIT,
            ", ".join(behind),
            log.start,
            hold,
        )
