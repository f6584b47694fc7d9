"""The cluster kill switch's state: one coordination key, present while halted.

``livecore halt`` writes it before it tells any node, so the state outlives
every process: a node or gateway that starts (or missed the command) reads it
and halts too, and they all look at it again periodically. ``livecore
resume-all`` deletes it. An unreadable value counts as halted (the safe side):
only a resume clears it.
"""

from __future__ import annotations

import msgspec

from livecore.ports.coordination import Coordination
from livecore.wire import names

UNREADABLE = "unreadable halt state (resume to clear)"


class ClusterHalt(msgspec.Struct, frozen=True, kw_only=True):
    """Why, since when (ns), by whom, and whether positions are being closed."""

    reason: str
    since_ns: int
    by: str = ""
    flatten: bool = False


_decoder = msgspec.json.Decoder(ClusterHalt)


def read_halt(coord: Coordination) -> ClusterHalt | None:
    """The halt in force, or None when the cluster trades."""
    raw = coord.get(names.CLUSTER_HALT_KEY)
    if raw is None:
        return None
    try:
        return _decoder.decode(raw.encode())
    except (msgspec.DecodeError, UnicodeEncodeError):
        return ClusterHalt(reason=UNREADABLE, since_ns=0)


def write_halt(coord: Coordination, halt: ClusterHalt) -> None:
    """Halt the cluster (no expiry: it lasts until resumed)."""
    coord.set(names.CLUSTER_HALT_KEY, msgspec.json.encode(halt).decode())


def clear_halt(coord: Coordination) -> bool:
    """Resume; True if a halt was in force."""
    return coord.delete(names.CLUSTER_HALT_KEY)
