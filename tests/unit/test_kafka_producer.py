"""KafkaProducer's rebuild, against a fake librdkafka client: every message is
acknowledged or reported failed, never stranded; BusError says if it is transient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from livecore.adapters.kafka_config import KafkaSettings
from livecore.adapters.kafka_health import BrokerState
from livecore.adapters.kafka_producer import KafkaProducer
from livecore.faults import Fault, classify
from livecore.ports.bus import BusError, Delivery

Report = Callable[[KafkaError | None, Any], None]


class Message:
    def __init__(self, topic: str, key: bytes | None, offset: int) -> None:
        self._topic, self._key, self._offset = topic, key, offset

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes | None:
        return self._key

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


class FakeClient:
    """librdkafka's Producer as KafkaProducer uses it. ``refuse`` maps a value to the
    error ``produce`` raises for it; ``acks`` False keeps messages in flight."""

    def __init__(self, refuse: dict[bytes, KafkaError] | None = None, acks: bool = True) -> None:
        self.refuse = refuse or {}
        self.acks = acks
        self.in_flight: list[tuple[str, bytes | None, bytes, Report | None]] = []
        self.produced: list[bytes] = []
        self.partitions: list[int] = []  # as passed: -1 lets librdkafka's partitioner decide
        self.offset = 0

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | str | None,
        partition: int = -1,
        on_delivery: Report | None = None,
    ) -> None:
        if value in self.refuse:
            raise KafkaException(self.refuse[value])
        raw = key.encode() if isinstance(key, str) else key
        self.produced.append(value)
        self.partitions.append(partition)
        self.in_flight.append((topic, raw, value, on_delivery))

    def poll(self, timeout: float = 0.0) -> int:
        if not self.acks:
            return 0
        done, self.in_flight = self.in_flight, []
        for topic, key, _, report in done:
            self.offset += 1
            if report is not None:  # published without a callback: librdkafka reports to nobody
                report(None, Message(topic, key, self.offset))
        return len(done)

    def __len__(self) -> int:
        return len(self.in_flight)

    def flush(self, timeout: float = 0.0) -> int:
        self.poll(timeout)
        return len(self.in_flight)

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        self.in_flight = []


def producer(monkeypatch: pytest.MonkeyPatch, *clients: FakeClient) -> tuple[KafkaProducer, BrokerState]:
    made: Iterator[FakeClient] = iter(clients)
    monkeypatch.setattr(KafkaProducer, "_new_client", lambda self: next(made))
    state = BrokerState()
    return KafkaProducer(KafkaSettings(bootstrap="fake:9092"), state), state


def publish_all(p: KafkaProducer, *values: bytes) -> dict[bytes, list[Delivery]]:
    seen: dict[bytes, list[Delivery]] = {v: [] for v in values}
    for value in values:
        p.publish("orders", "k", value, seen[value].append)
    return seen


def test_a_resend_refused_mid_rebuild_is_reported_failed_the_rest_resent(monkeypatch: pytest.MonkeyPatch) -> None:
    outage = FakeClient(acks=False)
    rebuilt = FakeClient(refuse={b"m2": KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)})
    p, state = producer(monkeypatch, outage, rebuilt)
    seen = publish_all(p, b"m1", b"m2", b"m3")
    state.generation += 1  # the broker came back after an outage
    p.flush(1.0)  # returns: nothing is left pending
    assert p.unacknowledged == 0
    assert rebuilt.produced == [b"m1", b"m3"]
    assert [d.error for d in seen[b"m1"]] == [None] and [d.error for d in seen[b"m3"]] == [None]
    (failed,) = seen[b"m2"]
    assert failed.error is not None and "cannot publish to orders" in failed.error
    assert (failed.topic, failed.key) == ("orders", b"k")
    assert (p.rebuilds, p.resent) == (1, 2)
    p.publish("orders", "k", b"m4")
    p.flush(1.0)
    assert p.rebuilds == 1  # the generation was recorded: no second rebuild


def test_a_fatal_error_during_the_resend_rebuilds_again_and_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    outage = FakeClient(acks=False)
    dying = FakeClient(refuse={b"m2": KafkaError(KafkaError._FATAL, fatal=True)}, acks=False)
    healthy = FakeClient()
    p, state = producer(monkeypatch, outage, dying, healthy)
    seen = publish_all(p, b"m1", b"m2", b"m3")
    state.generation += 1
    p.flush(1.0)
    assert p.unacknowledged == 0 and p.rebuilds == 2
    assert healthy.produced == [b"m1", b"m2", b"m3"]
    assert all([d.error for d in deliveries] == [None] for deliveries in seen.values())


def test_a_rebuild_resends_each_message_to_the_partition_it_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit partition (market data's, from the wire's partitioner) survives a
    resend, tracked or not; a message without one is left to librdkafka again (-1)."""
    outage = FakeClient(acks=False)
    rebuilt = FakeClient()
    p, state = producer(monkeypatch, outage, rebuilt)
    p.publish("market.data", "AAPL", b"t1", partition=5)
    p.publish("market.data", "MSFT", b"t2", lambda _: None, partition=2)
    p.publish("orders", "k", b"o1", lambda _: None)
    assert outage.partitions == [5, 2, -1]
    state.generation += 1
    p.flush(1.0)
    assert rebuilt.produced == [b"t1", b"t2", b"o1"]
    assert rebuilt.partitions == [5, 2, -1]


def test_every_message_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    outage = FakeClient(acks=False)
    rebuilt = FakeClient(refuse={b"m1": KafkaError(KafkaError._MSG_TIMED_OUT)})
    p, state = producer(monkeypatch, outage, rebuilt)
    seen = publish_all(p, b"m1", b"m2")
    state.generation += 1
    p.flush(1.0)
    p.poll(0.0)
    assert [len(d) for d in seen.values()] == [1, 1]


def test_a_refused_publish_says_whether_trying_again_can_help(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeClient(
        refuse={b"big": KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), b"late": KafkaError(KafkaError._MSG_TIMED_OUT)}
    )
    p, _ = producer(monkeypatch, client)
    with pytest.raises(BusError) as too_large:
        p.publish("orders", "k", b"big")
    assert not too_large.value.transient and classify(too_large.value) is Fault.REJECTED
    with pytest.raises(BusError) as timed_out:
        p.publish("orders", "k", b"late")
    assert timed_out.value.transient and classify(timed_out.value) is Fault.TRANSIENT
    assert p.unacknowledged == 0
    p.close(1.0)
    with pytest.raises(BusError) as closed:
        p.publish("orders", "k", b"after")
    assert not closed.value.transient and classify(closed.value) is Fault.REJECTED


class BrokenMessage(Message):
    """A delivery report whose message cannot be read: the report callback raises."""

    def topic(self) -> str:
        raise RuntimeError("unreadable report")


class BrokenReports(FakeClient):
    def poll(self, timeout: float = 0.0) -> int:
        done, self.in_flight = self.in_flight, []
        for topic, key, _, report in done:
            if report is not None:
                report(None, BrokenMessage(topic, key, 0))  # must not raise into librdkafka
        return len(done)


def test_a_report_callback_that_raises_stays_inside_it_and_the_next_call_rebuilds(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken, healthy = BrokenReports(), FakeClient()
    p, state = producer(monkeypatch, broken, healthy)
    seen = publish_all(p, b"m1", b"m2")
    p.poll(0.0)  # the reports raise inside the client's poll; nothing escapes
    assert p.unacknowledged == 2 and "delivery report callback raised RuntimeError" in caplog.text
    assert "callback(s) raised" in state.health().reason
    p.flush(1.0)  # rebuilt: both resent with the same bytes and reported once
    assert p.rebuilds == 1 and healthy.produced == [b"m1", b"m2"]
    assert [[d.error for d in deliveries] for deliveries in seen.values()] == [[None], [None]]
    assert state.health().ok
