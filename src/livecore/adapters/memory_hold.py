"""Which records of the in-process bus a consumer group still needs.

Retention bounds memory for data nobody still needs: a partition keeps every
record from the lowest committed offset of the live groups (at least one
member) that committed on it, whatever the records' age or the byte budget,
until it outgrows ``HOLD_LIMIT`` times its budget (``memory_log.py``). An
``earliest`` group that has not committed yet holds from where it started (it
wants everything: the gateway's orders, stuck on its very first batch). Groups
that never commit and start at ``latest`` (market data) or have no member hold
nothing.
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

    @property
    def started(self) -> Mapping[TopicPartition, int]: ...


def held_from(group: GroupView, tp: TopicPartition) -> int | None:
    """Where ``group`` needs ``tp`` from: its committed offset, else where an
    ``earliest`` member started it; None when it holds nothing."""
    if not group.members:
        return None
    return group.committed.get(tp, group.started.get(tp))


def note_start(started: dict[TopicPartition, int], reset: str, positions: Mapping[TopicPartition, int]) -> None:
    """An ``earliest`` member holds each partition from where its group first started it."""
    if reset == "earliest":
        for tp, offset in positions.items():
            started.setdefault(tp, offset)


def lowest_hold(groups: Mapping[str, GroupView], tp: TopicPartition) -> int | None:
    """The offset ``tp``'s log must keep from (None: no live group needs it)."""
    offsets = [offset for g in groups.values() if (offset := held_from(g, tp)) is not None]
    return min(offsets) if offsets else None


def _below(offset: int | None, start: int) -> bool:
    return offset is not None and offset < start


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
        behind = sorted(gid for gid, g in groups.items() if _below(held_from(g, tp), log.start))
        LOG.error(
            "%s[%d] outgrew %d bytes (%dx its retention budget) holding records for group(s) %s: "
            "deleting records they have not consumed (log now starts at %d, they need offset %d)",
            tp.topic,
            tp.partition,
            log.budget * HOLD_LIMIT,
            HOLD_LIMIT,
            ", ".join(behind),
            log.start,
            hold,
        )
