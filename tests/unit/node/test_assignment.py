"""MarketAssignment: the node reads the market.data partitions of its portfolios'
symbols, applied by the loop's thread between polls, and a load waits until they
are read (on the in-process bus; the node tests run the same on Tansu)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from livecore.adapters.memory_bus import MemoryBus
from livecore.node.assignment import MarketAssignment
from livecore.node.interest import InterestMap
from livecore.ports.bus import AssignedConsumer, Record
from livecore.wire.partitioning import market_partition
from tests.servers import wait_until

TOPIC = "market.data"
COUNT = 8  # AAA and BBB are on partition 7, DDD on 6, ZZZ on 0


@pytest.fixture
def bus() -> MemoryBus:
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    bus.create_topics({TOPIC: COUNT})
    return bus


def assignment(bus: MemoryBus, interest: InterestMap, all_partitions: bool = False) -> MarketAssignment:
    return MarketAssignment(
        interest=interest, partition_count=lambda: bus.partition_count(TOPIC), all_partitions=all_partitions
    )


class Loop:
    """What the market loop does: apply, then a long poll (a wakeup cuts it short)."""

    def __init__(self, market: MarketAssignment, consumer: AssignedConsumer) -> None:
        self.market, self.consumer = market, consumer
        self.records: list[Record] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while self.running:
            self.market.apply(self.consumer)
            self.records.extend(self.consumer.poll(100, 5.0))


@pytest.fixture
def loop(bus: MemoryBus) -> Iterator[tuple[Loop, InterestMap]]:
    interest = InterestMap()
    running = Loop(assignment(bus, interest), bus.assigned_consumer(TOPIC))
    running.thread.start()
    yield running, interest
    running.running = False
    running.consumer.wakeup()
    running.thread.join(10)
    running.consumer.close()


def test_the_wanted_partitions_follow_the_interest_map(bus: MemoryBus) -> None:
    assert {market_partition(s, COUNT) for s in ("AAA", "BBB", "DDD", "ZZZ")} == {7, 6, 0}
    interest = InterestMap()
    market = assignment(bus, interest)
    consumer = bus.assigned_consumer(TOPIC)
    assert not market.positioned and market.partitions == frozenset()
    market.apply(consumer)
    assert market.positioned and market.partition_count == COUNT and market.partitions == frozenset()
    interest.set("p1", ["AAA", "DDD"])
    interest.set("p2", ["BBB"])
    assert market.update() is True  # no wait asked: at once
    assert not market.positioned
    market.apply(consumer)
    assert market.partitions == frozenset({6, 7}) and market.positioned
    assert {tp.partition for tp in consumer.assignment()} == {6, 7}
    interest.remove("p1")
    market.update()
    market.apply(consumer)
    assert market.partitions == frozenset({7})  # BBB's partition stays for p2
    interest.remove("p2")
    market.update()
    market.apply(consumer)
    assert market.partitions == frozenset() and consumer.assignment() == set()


def test_a_waiting_update_returns_once_the_loop_reads_the_new_partitions(
    bus: MemoryBus, loop: tuple[Loop, InterestMap]
) -> None:
    """The loop sits in a 5 s poll: the update wakes it, so the wait is short; every
    record published after the update returned is read."""
    running, interest = loop
    wait_until(lambda: running.market.positioned, 10, "first assignment")
    interest.set("p1", ["DDD"])
    started = time.monotonic()
    assert running.market.update(wait_s=10.0)
    assert time.monotonic() - started < 2.0
    assert running.market.partitions == frozenset({6})
    producer = bus.producer()
    producer.publish(TOPIC, "DDD", b"first", partition=6)
    wait_until(lambda: [r.value for r in running.records] == [b"first"], 10, "the first tick after the load")


def test_an_update_that_only_drops_partitions_does_not_wait(bus: MemoryBus) -> None:
    interest = InterestMap()
    market = assignment(bus, interest)
    consumer = bus.assigned_consumer(TOPIC)
    interest.set("p1", ["AAA"])
    market.apply(consumer)
    interest.remove("p1")
    assert market.update(wait_s=30.0)  # nothing to add: no loop needed


def test_without_a_loop_the_wait_gives_up(bus: MemoryBus) -> None:
    interest = InterestMap()
    market = assignment(bus, interest)
    interest.set("p1", ["AAA"])
    assert market.update(wait_s=0.2) is False  # no consumer attached
    stopping = threading.Event()
    stopping.set()
    assert market.update(wait_s=30.0, should_run=lambda: not stopping.is_set()) is False


def test_all_partitions_whatever_the_portfolios_trade(bus: MemoryBus) -> None:
    """A lockstep replay's gate counts every record of the topic."""
    interest = InterestMap()
    market = assignment(bus, interest, all_partitions=True)
    consumer = bus.assigned_consumer(TOPIC)
    market.apply(consumer)
    assert market.partitions == frozenset(range(COUNT))
    interest.set("p1", ["AAA"])
    market.update()
    market.apply(consumer)
    assert market.partitions == frozenset(range(COUNT))


def test_a_new_consumer_is_positioned_on_what_is_wanted(bus: MemoryBus) -> None:
    """The loop restarted with a new consumer: it reads the same partitions again."""
    interest = InterestMap()
    market = assignment(bus, interest)
    interest.set("p1", ["AAA", "ZZZ"])
    first = bus.assigned_consumer(TOPIC)
    market.apply(first)
    market.detach()
    assert not market.positioned
    second = bus.assigned_consumer(TOPIC)
    market.apply(second)
    assert {tp.partition for tp in second.assignment()} == {0, 7} and market.positioned
