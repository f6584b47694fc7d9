"""``kafka://`` URL parsing and the librdkafka configuration derived from it."""

from __future__ import annotations

import dataclasses

import pytest

from livecore.adapters.kafka_config import (
    _PARSERS,
    KafkaSettings,
    consumer_config,
    parse_kafka_url,
    producer_config,
)
from livecore.errors import ConfigError
from livecore.ports.bus import ConsumerSettings


def test_plain_url_gives_defaults() -> None:
    settings = parse_kafka_url("kafka://127.0.0.1:9092")
    assert settings == KafkaSettings(bootstrap="127.0.0.1:9092")
    assert settings.partitions == 4
    assert settings.linger_ms == 5
    assert settings.latest_guard is True


def test_several_brokers_and_parameters() -> None:
    settings = parse_kafka_url(
        "kafka://a:9092,b:9093/?partitions=8&linger_ms=0&session_timeout_ms=3000"
        "&heartbeat_interval_ms=750&fetch_wait_max_ms=10&latest_guard=false&replication_factor=3"
    )
    assert settings.bootstrap == "a:9092,b:9093"
    assert settings.partitions == 8
    assert settings.linger_ms == 0
    assert settings.session_timeout_ms == 3000
    assert settings.heartbeat_interval_ms == 750
    assert settings.fetch_wait_max_ms == 10
    assert settings.latest_guard is False
    assert settings.replication_factor == 3


def test_every_setting_is_a_url_parameter() -> None:
    names = {f.name for f in dataclasses.fields(KafkaSettings)} - {"bootstrap"}
    assert set(_PARSERS) == names


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kafka://h:9092?colour=blue", "unknown parameter 'colour'"),
        ("kafka://h:9092?partitions=0", "partitions='0' must be at least 1"),
        ("kafka://h:9092?partitions=four", "partitions='four'"),
        ("kafka://h:9092?linger_ms=-1", "linger_ms='-1' must not be negative"),
        ("kafka://h:9092?latest_guard=maybe", "latest_guard='maybe' must be true or false"),
        ("kafka://h:9092?replication_factor=0", "replication_factor='0'"),
        ("kafka://h:9092?partitions=2&partitions=3", "'partitions' given twice"),
        ("kafka://h:9092/topics", "unexpected path"),
        ("kafka://h", "is not host:port"),
        ("redis://h:6379", "scheme 'redis'"),
    ],
)
def test_bad_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_kafka_url(url)


def test_url_overrides_the_consumer_settings_the_code_asked_for() -> None:
    settings = parse_kafka_url("kafka://h:9092?session_timeout_ms=3000")
    asked = ConsumerSettings(session_timeout_ms=10_000, heartbeat_interval_ms=2000, fetch_wait_max_ms=50)
    chosen = settings.consumer_settings(asked)
    assert chosen == ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=2000, fetch_wait_max_ms=50)
    assert settings.consumer_settings(None).heartbeat_interval_ms == ConsumerSettings().heartbeat_interval_ms


def test_consumer_config_commits_only_explicitly() -> None:
    settings = parse_kafka_url("kafka://h:9092?fetch_wait_max_ms=15")
    config = consumer_config(settings, "group-1", "earliest", ConsumerSettings(session_timeout_ms=3000))
    assert config["bootstrap.servers"] == "h:9092"
    assert config["group.id"] == "group-1"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["auto.offset.reset"] == "earliest"
    assert config["session.timeout.ms"] == 3000
    assert config["fetch.wait.max.ms"] == 15


def test_producer_config_is_idempotent_with_acks_all() -> None:
    config = producer_config(parse_kafka_url("kafka://h:9092?linger_ms=2"))
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["linger.ms"] == 2
    assert config["log_level"] <= 3


def test_a_producer_may_ask_for_its_own_linger() -> None:
    """``Bus.producer(linger_ms=0)`` (the node's orders) overrides the URL's; None keeps it.
    Building a librdkafka producer connects nothing yet."""
    from livecore.adapters.kafka_bus import KafkaBus

    bus = KafkaBus("kafka://127.0.0.1:1?linger_ms=7")
    try:
        eager, default = bus.producer(linger_ms=0), bus.producer()
        assert eager._settings.linger_ms == 0  # type: ignore[attr-defined]
        assert default._settings.linger_ms == 7  # type: ignore[attr-defined]
        eager.close()
        default.close()
    finally:
        bus.close()
