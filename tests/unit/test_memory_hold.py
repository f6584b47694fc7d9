"""A live group that committed holds the in-process bus's retention: a consumer
stuck for longer than the age limit (its database down) still gets every record;
past the hard limit records go anyway and the loss is counted and reported."""

from __future__ import annotations

import logging

import pytest

from livecore.adapters.memory_bus import MemoryBus, MemoryBusSettings
from livecore.adapters.memory_log import HOLD_LIMIT, RECORD_OVERHEAD, PartitionLog
from livecore.health import bus_health_fields, bus_problems, parse_bus_health
from livecore.ports.bus import Consumer, Record, TopicPartition

VALUE = b"x" * 100
SIZE = len(VALUE) + 1 + RECORD_OVERHEAD  # one-byte key
TP = TopicPartition("t", 0)


class FakeClock:
    """Milliseconds the test moves by hand: records age without waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def _bus(clock: FakeClock, retention_bytes: int = 10**9, retention_ms: int = 1000) -> MemoryBus:
    bus = MemoryBus(
        settings=MemoryBusSettings(retention_bytes=retention_bytes, retention_ms=retention_ms), clock_ms=clock
    )
    bus.create_topics({"t": 1})
    return bus


def _publish(bus: MemoryBus, count: int) -> None:
    producer = bus.producer()
    for _ in range(count):
        producer.publish("t", "k", VALUE)


def _committed_member(bus: MemoryBus, group: str = "gw") -> Consumer:
    """A member that consumed and committed offset 0, so its group holds from 1."""
    _publish(bus, 1)
    consumer = bus.consumer(group, ["t"], "earliest")
    assert [r.offset for r in consumer.poll(timeout=0)] == [0]
    consumer.commit()
    return consumer


def _drain(consumer: Consumer) -> list[int]:
    offsets: list[int] = []
    while batch := consumer.poll(max_records=1000, timeout=0):
        offsets += [r.offset for r in batch]
    return offsets


def _record(offset: int, ts_ms: int = 0) -> Record:
    return Record("t", 0, offset, b"k", VALUE, ts_ms)


def test_log_keeps_held_records_past_age_and_budget_up_to_the_hard_limit() -> None:
    log = PartitionLog(budget=10 * SIZE, max_age_ms=1000)
    log.hold = 0
    forced = [log.append(_record(offset, ts_ms=offset * 1000)) for offset in range(10 * HOLD_LIMIT)]
    assert log.start == 0 and len(log) == 10 * HOLD_LIMIT and sum(forced) == 0
    assert log.append(_record(10 * HOLD_LIMIT, ts_ms=10**9)) == 1  # over the hard limit: one held record goes
    assert log.start == 1
    log.hold = 30  # the group caught up: what it consumed follows the normal rules
    assert log.append(_record(41, ts_ms=10**9)) == 0
    assert log.start == 30


def test_a_committed_group_stuck_past_the_age_limit_gets_every_record() -> None:
    clock = FakeClock()
    bus = _bus(clock)
    gateway = _committed_member(bus)
    assert gateway.poll(timeout=0) == []
    _publish(bus, 5)
    polled = [r.offset for r in gateway.poll(timeout=0)]
    assert polled == [1, 2, 3, 4, 5]
    for _ in range(20):  # the database is down: nothing is committed while time passes
        clock.now += 60_000
        _publish(bus, 5)
    gateway.seek(TP, 1)  # the loop rewinds to what it could not handle
    assert _drain(gateway) == list(range(1, 106))
    assert gateway.lost_records() == 0 and bus.health().lost_records == 0


def test_committing_releases_the_hold() -> None:
    clock = FakeClock()
    bus = _bus(clock)
    gateway = _committed_member(bus)
    clock.now += 60_000
    _publish(bus, 3)
    assert bus._log(TP).start == 1  # offset 1 on is held although older than 1 s
    assert _drain(gateway) == [1, 2, 3]
    gateway.commit()
    clock.now += 60_000
    _publish(bus, 1)
    assert bus._log(TP).start == 4  # consumed and committed: aged out as usual


def test_the_lowest_committed_group_holds() -> None:
    clock = FakeClock()
    bus = _bus(clock)
    fast = _committed_member(bus, "fast")
    slow = bus.consumer("slow", ["t"], "earliest")
    slow.poll(timeout=0)
    slow.commit()  # slow committed 1 as well
    _publish(bus, 4)
    _drain(fast)
    fast.commit()
    clock.now += 60_000
    _publish(bus, 1)
    assert bus._log(TP).start == 1
    assert _drain(slow) == [1, 2, 3, 4, 5]


def test_past_the_hard_limit_records_go_loudly_and_the_loss_reaches_the_health_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    bus = _bus(clock, retention_bytes=10 * SIZE)
    gateway = _committed_member(bus)
    with caplog.at_level(logging.ERROR, logger="livecore.bus"):
        _publish(bus, 100)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # once per held offset, not once per record
    assert "group(s) gw" in errors[0].getMessage() and "t[0]" in errors[0].getMessage()
    log = bus._log(TP)
    assert log.bytes <= 10 * SIZE * HOLD_LIMIT
    assert _drain(gateway) == list(range(log.start, 101))
    lost = log.start - 1
    assert lost > 0
    assert gateway.lost_records() == lost
    health = bus.health()
    assert health.ok and health.lost_records == lost
    report = parse_bus_health("gateway:gw1", bus_health_fields(health))
    assert report is not None and report.lost_records == lost
    assert bus_problems(report) == [f"gateway:gw1: bus: {lost} records lost behind retention"]


def test_a_latest_group_that_never_commits_holds_nothing() -> None:
    clock = FakeClock()
    bus = _bus(clock)
    _publish(bus, 1)
    market = bus.consumer("node-a.market", ["t"], "latest")
    assert market.poll(timeout=0) == []
    _publish(bus, 3)
    assert [r.offset for r in market.poll(timeout=0)] == [1, 2, 3]  # read, never committed
    _publish(bus, 3)
    clock.now += 60_000
    _publish(bus, 1)
    assert bus._log(TP).hold is None and bus._log(TP).start == 7
    assert _drain(market) == []  # behind retention, ``latest`` jumps to the end: 4..7 skipped
    assert market.lost_records() == 4 and bus.health().lost_records == 4


def test_a_group_without_members_holds_nothing() -> None:
    clock = FakeClock()
    bus = _bus(clock)
    _committed_member(bus).close()
    assert bus._log(TP).hold is None
    _publish(bus, 2)
    clock.now += 60_000
    _publish(bus, 1)
    assert bus._log(TP).start == 3  # 1 and 2 were committed-for but nobody was there
    again = bus.consumer("gw", ["t"], "earliest")
    assert bus._log(TP).hold == 1  # a member is back: its committed offset holds again
    assert _drain(again) == [3]
    assert again.lost_records() == 2


def test_an_earliest_group_that_has_not_committed_yet_holds_from_where_it_started() -> None:
    clock = FakeClock()
    bus = _bus(clock)
    gateway = bus.consumer("gw", ["t"], "earliest")  # its very first batch will be stuck
    _publish(bus, 3)
    assert [r.offset for r in gateway.poll(timeout=0)] == [0, 1, 2]
    for _ in range(10):
        clock.now += 60_000
        _publish(bus, 1)
    assert bus._log(TP).start == 0
    gateway.seek(TP, 0)
    assert _drain(gateway) == list(range(13))
    gateway.commit()
    assert bus._log(TP).hold == 13
