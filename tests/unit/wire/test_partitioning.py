"""The wire's partitioner is a published contract: external market-data
publishers compute it, so its values never change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livecore.gateway.stats import partition_of as gateway_partition_of
from livecore.wire.partitioning import market_partition, market_partitions, partition_of


@pytest.mark.parametrize(
    ("key", "crc32", "of_8", "of_64"),
    [
        ("AAPL", 3060094812, 4, 28),
        ("MSFT", 3974476411, 3, 59),
        ("SYM0001", 1584120427, 3, 43),
        ("SYM0002", 3345126353, 1, 17),
    ],
)
def test_known_values(key: str, crc32: int, of_8: int, of_64: int) -> None:
    """CRC-32 (zlib's, librdkafka's) of the UTF-8 bytes, modulo the partition count."""
    assert crc32 % 8 == of_8 and crc32 % 64 == of_64
    assert market_partition(key, 8) == partition_of(key, 8) == partition_of(key.encode(), 8) == of_8
    assert market_partition(key, 64) == of_64


@given(st.text(min_size=1, max_size=128), st.integers(min_value=1, max_value=10_000))
def test_every_key_lands_on_an_existing_partition(key: str, partitions: int) -> None:
    assert 0 <= market_partition(key, partitions) < partitions
    assert gateway_partition_of(key, partitions) == partition_of(key, partitions)


def test_the_partitions_of_a_set_of_symbols() -> None:
    assert market_partitions(["AAPL", "MSFT", "SYM0001"], 8) == frozenset({3, 4})
    assert market_partitions([], 8) == frozenset()


def test_a_topic_has_at_least_one_partition() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        partition_of("AAPL", 0)
