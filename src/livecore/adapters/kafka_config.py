"""``kafka://`` URLs and the librdkafka configuration built from them.

``kafka://host:port[,host:port][?key=value&...]``: the query carries the
operator's tuning and, where it names a consumer knob, overrides the
``ConsumerSettings`` the code asked for (the operator knows the broker: e.g.
Tansu wants ``session_timeout_ms=3000``, Apache Kafka refuses under 6000).
An unknown key is a ``ConfigError`` naming it, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from livecore.adapters.kafka_callbacks import LOG as LOG  # the one "livecore.kafka" logger, used by every adapter
from livecore.adapters.kafka_callbacks import CallbackFaults, TotalLogger
from livecore.adapters.kafka_health import BrokerState
from livecore.config import validate_bus_url
from livecore.errors import ConfigError
from livecore.ports.bus import ConsumerSettings, OffsetReset

# librdkafka's syslog levels: 3 = errors only. Its info/notice chatter (connects,
# rebalances) is not useful in normal operation; errors still reach LOG.
LIBRDKAFKA_LOG_LEVEL = 3


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Everything a ``kafka://`` URL can say. ``None`` consumer knobs defer to the
    ``ConsumerSettings`` given by the caller."""

    bootstrap: str
    partitions: int = 4
    replication_factor: int = -1
    linger_ms: int = 5
    session_timeout_ms: int | None = None
    heartbeat_interval_ms: int | None = None
    fetch_wait_max_ms: int | None = None
    max_poll_interval_ms: int | None = None
    latest_guard: bool = True
    request_timeout_s: float = 10.0
    client_id: str = "livecore"
    health_interval_s: float = 1.0
    replay_window_s: float = 30.0
    replay_max: int = 50_000

    def consumer_settings(self, asked: ConsumerSettings | None) -> ConsumerSettings:
        """The caller's settings with the URL's overrides applied."""
        chosen = asked or ConsumerSettings()
        overrides = {
            name: getattr(self, name)
            for name in ("session_timeout_ms", "heartbeat_interval_ms", "fetch_wait_max_ms", "max_poll_interval_ms")
            if getattr(self, name) is not None
        }
        return replace(chosen, **overrides)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _replication(value: str) -> int:
    number = int(value)
    if number == 0 or number < -1:
        raise ValueError("must be -1 (broker default) or at least 1")
    return number


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _seconds(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be positive")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError("must not be negative")
    return number


def _text(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "partitions": _positive_int,
    "replication_factor": _replication,
    "linger_ms": _non_negative_int,
    "session_timeout_ms": _positive_int,
    "heartbeat_interval_ms": _positive_int,
    "fetch_wait_max_ms": _non_negative_int,
    "max_poll_interval_ms": _positive_int,
    "latest_guard": _flag,
    "request_timeout_s": _seconds,
    "client_id": _text,
    "health_interval_s": _seconds,
    "replay_window_s": _non_negative_float,
    "replay_max": _positive_int,
}


def parse_kafka_url(url: str) -> KafkaSettings:
    """Parse and check a ``kafka://`` URL; raise ``ConfigError`` naming what is wrong."""
    validate_bus_url(url)
    parts = urlsplit(url)
    if parts.scheme.lower() != "kafka":
        raise ConfigError(f"bad bus URL {url!r}: not a kafka:// URL")
    if parts.path not in ("", "/"):
        raise ConfigError(f"bad bus URL {url!r}: unexpected path {parts.path!r}")
    values: dict[str, Any] = {}
    for key, raw in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        parser = _PARSERS.get(key)
        if parser is None:
            known = ", ".join(sorted(_PARSERS))
            raise ConfigError(f"bad bus URL {url!r}: unknown parameter {key!r} (known: {known})")
        if key in values:
            raise ConfigError(f"bad bus URL {url!r}: parameter {key!r} given twice")
        try:
            values[key] = parser(raw)
        except ValueError as exc:
            raise ConfigError(f"bad bus URL {url!r}: parameter {key}={raw!r} {exc}") from None
    return KafkaSettings(bootstrap=parts.netloc, **values)


_ALL_BROKERS_DOWN = -187  # KafkaError._ALL_BROKERS_DOWN


def error_callback(
    state: BrokerState | None,
    on_fatal: Callable[[Any], None] | None = None,
    faults: CallbackFaults | None = None,
) -> Callable[[Any], None]:
    """librdkafka's error_cb: transient errors (broker down, ...) are warnings and
    an all-brokers-down event marks the bus unhealthy; fatal ones are errors and go
    to ``on_fatal`` (a producer rebuilds itself). Total: what it raises goes to
    ``faults`` (the client's, or one that only logs)."""

    def on_error(error: Any) -> None:
        if error.fatal():
            LOG.error("kafka fatal error: %s", error)
            if on_fatal is not None:
                on_fatal(error)
            return
        LOG.warning("kafka error: %s", error)
        if state is not None and error.code() == _ALL_BROKERS_DOWN:
            state.broker_suspect(f"all brokers down ({error.str()})")

    return (faults if faults is not None else CallbackFaults("kafka client")).guard("error", on_error)


def common_config(settings: KafkaSettings, on_error: Callable[[Any], None] | None = None) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap,
        "client.id": settings.client_id,
        "logger": TotalLogger(LOG),
        "log_level": LIBRDKAFKA_LOG_LEVEL,
        "error_cb": on_error or error_callback(None),
        # never let the broker create a topic with its default partition count: the
        # bus creates (and after a data loss re-creates) topics with the layout's
        "allow.auto.create.topics": False,
    }


def producer_config(settings: KafkaSettings, on_error: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Idempotent, acks from every in-sync replica, CRC32 key hashing (same as ``MemoryBus``)."""
    return {
        **common_config(settings, on_error),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": settings.linger_ms,
        "partitioner": "consistent_random",
        "queue.buffering.max.messages": 100_000,  # kafka_producer.UNTRACKED_MAX relies on it
    }


def consumer_config(
    settings: KafkaSettings,
    group_id: str,
    offset_reset: OffsetReset,
    asked: ConsumerSettings | None,
    on_error: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Explicit commits only, eager ``range`` rebalancing (see docs/BUS.md)."""
    tuned = settings.consumer_settings(asked)
    return {
        **common_config(settings, on_error),
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": offset_reset,
        "partition.assignment.strategy": "range",
        "session.timeout.ms": tuned.session_timeout_ms,
        "heartbeat.interval.ms": tuned.heartbeat_interval_ms,
        "fetch.wait.max.ms": tuned.fetch_wait_max_ms,
        "max.poll.interval.ms": tuned.max_poll_interval_ms,
    }
