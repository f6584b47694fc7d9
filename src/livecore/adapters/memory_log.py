"""One partition of the in-process bus, and what it retains.

Retention works like a broker's ``retention.bytes`` + ``retention.ms``: the
oldest records go once the partition holds more than its byte budget, or once
they are older than the age limit; offsets keep growing and the log start
offset moves forward. Bytes are what a record costs in this process (key and
value plus ``RECORD_OVERHEAD`` for the ``Record`` object and its list slot), so
the budget bounds the process's memory, not an on-disk size.

Retention bounds memory for data nobody still needs: a live consumer group
holds every record from its committed offset on (``hold``, see
``memory_hold.py``), whatever their age or the byte budget, until the partition reaches
``HOLD_LIMIT`` times its budget; past that the oldest records go anyway and the
append reports how many held records it deleted (the bus logs it at ERROR).

Trimming advances a head index; the list is compacted only when the trimmed
prefix reaches 1/16 of it, so each record is moved a bounded number of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from livecore.checks import at_least
from livecore.errors import ConfigError
from livecore.ports.bus import Record

# Bytes one retained Record costs beyond its key and value, measured with
# tracemalloc on CPython 3.11 (a 6-field msgspec struct, two bytes objects, the
# offset and timestamp ints, the list slot): about 190. Rounded up.
RECORD_OVERHEAD = 200
# A partition holding records for a lagging group may grow to this many times its
# byte budget before retention deletes them anyway: memory stays bounded.
HOLD_LIMIT = 4
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MemoryBusSettings:
    """``default_partitions``: count for topics created implicitly (like Kafka's
    auto-creation). ``retention_bytes``: budget of one topic, split evenly among
    its partitions (a topic, not a partition, so that the bound of the whole bus is
    topics x budget whatever the partition counts). ``retention_ms``: records older
    than this (by their timestamp) are dropped at the next append to their partition."""

    default_partitions: int = 4
    retention_bytes: int = 32 * _MIB
    retention_ms: int = 5 * 60 * 1000

    def __post_init__(self) -> None:
        at_least(self, 1, "default_partitions", "retention_bytes", "retention_ms")


_PARAMETERS = {"partitions": "default_partitions", "retention_bytes": "retention_bytes", "retention_ms": "retention_ms"}


def parse_memory_url(url: str) -> tuple[str, MemoryBusSettings | None]:
    """``memory://NAME[?partitions=N&retention_bytes=B&retention_ms=T]`` -> (the
    bus's name, its settings or None when the URL gives none). ``ConfigError``
    names an unknown, repeated or bad parameter."""
    parts = urlsplit(url)
    if parts.scheme != "memory":
        raise ConfigError(f"bad bus URL {url!r}: not a memory:// URL")
    values: dict[str, int] = {}
    for key, raw in parse_qsl(parts.query, keep_blank_values=True):
        field = _PARAMETERS.get(key)
        if field is None:
            raise ConfigError(f"bad bus URL {url!r}: unknown parameter {key!r} (known: {', '.join(_PARAMETERS)})")
        if field in values:
            raise ConfigError(f"bad bus URL {url!r}: parameter {key!r} given twice")
        try:
            values[field] = int(raw)
            if values[field] < 1:
                raise ValueError
        except ValueError:
            raise ConfigError(f"bad bus URL {url!r}: parameter {key}={raw!r} must be a whole number >= 1") from None
    name = url.split("?", 1)[0]
    return name, MemoryBusSettings(**values) if values else None


def record_size(record: Record) -> int:
    """What ``record`` costs while retained (see ``RECORD_OVERHEAD``)."""
    key = record.key
    return len(record.value) + (len(key) if key is not None else 0) + RECORD_OVERHEAD


class PartitionLog:
    """Records of one partition in offset order; ``records[head]`` has offset ``start``.
    ``hold``: the lowest committed offset of a live group (None: nobody holds)."""

    __slots__ = ("budget", "bytes", "head", "hold", "max_age_ms", "records", "start")

    def __init__(self, budget: int, max_age_ms: int) -> None:
        self.records: list[Record] = []
        self.head = 0
        self.start = 0
        self.bytes = 0
        self.budget = budget
        self.max_age_ms = max_age_ms
        self.hold: int | None = None

    @property
    def end(self) -> int:
        """The offset the next record will get."""
        return self.start + len(self.records) - self.head

    def __len__(self) -> int:
        return len(self.records) - self.head

    def read(self, position: int, limit: int) -> list[Record]:
        """Up to ``limit`` records from ``position`` (which must not be below ``start``)."""
        index = self.head + position - self.start
        return self.records[index : index + limit]

    def append(self, record: Record) -> int:
        """Add ``record`` (its offset is ``end``), then drop what retention no longer keeps;
        the newest record always stays. Returns how many held records (offset at or
        above ``hold``) were deleted because the partition outgrew ``HOLD_LIMIT``."""
        self.records.append(record)
        self.bytes += record_size(record)
        records = self.records
        oldest_allowed = record.timestamp_ms - self.max_age_ms
        last = len(records) - 1
        hold = self.hold
        forced = 0
        while self.head < last and (self.bytes > self.budget or records[self.head].timestamp_ms < oldest_allowed):
            if hold is not None and self.start >= hold:
                if self.bytes <= self.budget * HOLD_LIMIT:
                    break
                forced += 1
            self.bytes -= record_size(records[self.head])
            self.head += 1
            self.start += 1
        if self.head and self.head * 16 >= len(records):
            del records[: self.head]
            self.head = 0
        return forced
