"""Callbacks handed to librdkafka never raise: what they raise is logged and kept
for the owning client, which acts on it after librdkafka's call returned."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from livecore.adapters import kafka_consumer
from livecore.adapters.kafka_callbacks import CallbackFaults, TotalLogger
from livecore.adapters.kafka_config import KafkaSettings, error_callback
from livecore.adapters.kafka_consumer import KafkaConsumer
from livecore.adapters.kafka_health import BrokerState


def test_a_guarded_callback_logs_and_records_what_it_raised(caplog: pytest.LogCaptureFixture) -> None:
    faults = CallbackFaults("producer")

    def boom(value: int) -> None:
        raise ValueError(f"bad {value}")

    faults.guard("stats", boom)(7)  # returns normally
    assert faults.take() == [("stats", "ValueError: bad 7")]
    assert faults.take() == []
    assert "producer: the stats callback raised ValueError: bad 7" in caplog.text


def test_an_error_callback_that_raises_is_total(caplog: pytest.LogCaptureFixture) -> None:
    faults = CallbackFaults("consumer")

    class Unreadable:
        def fatal(self) -> bool:
            raise RuntimeError("cannot read the error")

    error_callback(BrokerState(), faults=faults)(Unreadable())
    assert [name for name, _ in faults.take()] == ["error"]


def test_the_log_callback_never_raises() -> None:
    class Failing(logging.Logger):
        def log(self, level: object, msg: object, *args: object, **kwargs: Any) -> None:
            raise OSError("stderr closed")

    TotalLogger(Failing("x")).log(logging.ERROR, "%s", "librdkafka says")


class FakeRdConsumer:
    """librdkafka's Consumer as KafkaConsumer uses it: each ``consume`` runs the
    pending rebalance (as librdkafka does, inside the call); ``assign`` fails
    ``failing_assigns`` times."""

    failing_assigns = 1

    def __init__(self, config: dict[str, Any]) -> None:
        self.subscriptions = 0
        self.assigned: list[Any] = []
        self.callbacks: dict[str, Any] = {}
        self.rebalance_pending = False

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.subscriptions += 1
        self.callbacks = callbacks
        self.rebalance_pending = True

    def unsubscribe(self) -> None:
        self.assigned = []

    def consume(self, num: int, timeout: float) -> list[Any]:
        if self.rebalance_pending:
            self.rebalance_pending = False
            partitions = [kafka_consumer.RdTopicPartition("orders", p) for p in (0, 1)]
            self.callbacks["on_assign"](self, partitions)
        return []

    def assign(self, partitions: list[Any]) -> None:
        if FakeRdConsumer.failing_assigns > 0:
            FakeRdConsumer.failing_assigns -= 1
            raise RuntimeError("assign failed")
        self.assigned = partitions

    def close(self) -> None:
        pass


def test_an_assignment_that_raises_makes_the_member_join_its_group_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_consumer, "RdConsumer", FakeRdConsumer)
    consumer = KafkaConsumer(KafkaSettings(bootstrap="fake:9092"), "g", ["orders"], "earliest", None)
    rd = consumer._consumer
    assert isinstance(rd, FakeRdConsumer)
    assert consumer.poll(10, 0.0) == []  # the assignment raised inside consume: nothing escapes
    assert rd.subscriptions == 2 and consumer.assignment() == set()  # left and joined again
    consumer.poll(10, 0.0)
    assert {tp.partition for tp in consumer.assignment()} == {0, 1} and len(rd.assigned) == 2
    consumer.close()
