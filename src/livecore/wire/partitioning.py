"""The one partitioner of the wire contract: which partition a key goes to.

A key's partition is ``crc32(utf-8 bytes of the key) % partition count``:
CRC-32 as zlib (and librdkafka) compute it, unsigned. This is librdkafka's
``consistent_random`` partitioner for every non-empty key, so a producer
built on librdkafka (confluent-kafka, kcat, rdkafka-based clients in any
language) lands each key where livecore's own producers put it.

It matters most for ``market.data`` (key: symbol): a node reads only the
partitions that hold its portfolios' symbols (``market_partition``), so a
record published on any other partition never reaches the portfolios that
trade its symbol. livecore's feed therefore publishes with an explicit
partition computed here, and an external publisher must either use a
librdkafka client with its default partitioner (``consistent_random``) or set
the partition itself with this formula. The Java client's default partitioner
(murmur2) does NOT match: a Java publisher must compute the partition.

The gateway maps a portfolio's ``orders`` partition with the same function.
Pure: no I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable


def partition_of(key: str | bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions`` (CRC-32 of its UTF-8 bytes)."""
    if partitions < 1:
        raise ValueError(f"partition count must be at least 1, got {partitions}")
    raw = key.encode() if isinstance(key, str) else key
    return zlib.crc32(raw) % partitions


def market_partition(symbol: str, partitions: int) -> int:
    """The ``market.data`` partition of ``symbol``: every producer must use it."""
    return partition_of(symbol, partitions)


def market_partitions(symbols: Iterable[str], partitions: int) -> frozenset[int]:
    """The ``market.data`` partitions that hold ``symbols``."""
    return frozenset(market_partition(symbol, partitions) for symbol in symbols)
