"""What kind of failure an exception is, and how often a record may be retried.

Every consumer loop asks the same question when handling one record raised:
is the backend down (wait and retry the same record), did the backend answer
"no" (retry a few times, then dead-letter the record), or is the record or the
code at fault (dead-letter it at once, retrying cannot help and would repeat
its side effects)? The answer lives here only, so all loops agree.

The adapters wrap driver errors (``StoreError`` / ``CoordinationError``
``from`` the driver's exception), so the whole cause chain is examined.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import redis.exceptions
import sqlalchemy.exc
from confluent_kafka import KafkaError, KafkaException

from livecore.checks import at_least, non_negative, require
from livecore.errors import BackendUnavailable
from livecore.ports.bus import BusError
from livecore.ports.coordination import CoordinationError
from livecore.ports.store import StoreError
from livecore.retry import Backoff

# how far along __cause__/__context__ to look (adapters wrap once or twice)
_CHAIN_DEPTH = 8

_KAFKA_TRANSIENT = frozenset(
    {
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
        KafkaError._TIMED_OUT_QUEUE,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._QUEUE_FULL,
        KafkaError._WAIT_COORD,
        KafkaError._RESOLVE,
        KafkaError._NODE_UPDATE,
        KafkaError._UNKNOWN_TOPIC,  # the topic watchdog re-creates a topic the broker lost
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)

# Answers a Redis server gives while a failover or a restart is under way: the
# same command succeeds once it is over. ``BusyLoadingError`` is already a
# ``ConnectionError``; listed so the intent does not rest on redis-py's hierarchy.
_REDIS_TRANSIENT: tuple[type[Exception], ...] = (
    redis.exceptions.ReadOnlyError,  # wrote to a replica that was the primary a moment ago
    redis.exceptions.ClusterDownError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.BusyLoadingError,
)


class Fault(enum.Enum):
    """``TRANSIENT``: a backend does not answer. ``REJECTED``: a backend answered
    with an error (constraint, bad value, server-side refusal). ``DEFECT``: the
    record or our code is at fault."""

    TRANSIENT = "transient"
    REJECTED = "rejected"
    DEFECT = "defect"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts``: tries of one record before a ``REJECTED`` failure
    dead-letters it. A ``TRANSIENT`` failure while the backends answer their health
    probe dead-letters it only after ``max_attempts`` such failures in a row **and**
    ``min_give_up_s`` seconds since the first of them: a Redis failover or a broker
    election can fail every try for seconds while the probe already answers, and
    the record would then have succeeded. Waits between tries double from
    ``backoff_s`` up to ``max_backoff_s``."""

    max_attempts: int = 5
    backoff_s: float = 0.05
    max_backoff_s: float = 2.0
    min_give_up_s: float = 30.0

    def __post_init__(self) -> None:
        at_least(self, 1, "max_attempts")
        non_negative(self, "backoff_s", "min_give_up_s")
        require(self.max_backoff_s >= self.backoff_s, self, "max_backoff_s", f"must be >= backoff_s ({self.backoff_s})")

    def transient_exhausted(self, failures: int, failing_for_s: float) -> bool:
        """Whether a record that failed transiently ``failures`` times in a row while
        the backends answered, the first ``failing_for_s`` seconds ago, is given up."""
        return failures >= self.max_attempts and failing_for_s >= self.min_give_up_s

    def backoff(self, attempt: int) -> float:
        """The pause after failed try number ``attempt`` (1-based)."""
        return Backoff(self.backoff_s, self.max_backoff_s).pause(attempt)


def classify(exc: BaseException) -> Fault:
    """The kind of ``exc``, looking through the exceptions it was raised from."""
    chain = _chain(exc)
    if any(_transient(link) for link in chain):
        return Fault.TRANSIENT
    if any(_rejected(link) for link in chain):
        return Fault.REJECTED
    return Fault.DEFECT


def describe(exc: BaseException, limit: int = 500) -> str:
    """``Type: message``, bounded: the reason written into a dead letter."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(seen) < _CHAIN_DEPTH and not any(link is s for s in seen):
        seen.append(link)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return seen


def kafka_error_is_transient(error: KafkaError) -> bool:
    """Whether librdkafka's ``error`` can clear by itself (broker down, election,
    timeout, full queue); the bus adapters use it to set ``BusError.transient``."""
    if error.fatal():
        return False
    return bool(error.retriable()) or error.code() in _KAFKA_TRANSIENT


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, BusError):
        return exc.transient  # set by the adapter that raised it
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)
        )
    if isinstance(exc, KafkaException):
        error = exc.args[0] if exc.args else None
        return isinstance(error, KafkaError) and kafka_error_is_transient(error)
    if isinstance(exc, _REDIS_TRANSIENT):
        return True
    return isinstance(
        exc,
        (
            ConnectionError,  # the builtin: refused, reset, broken pipe
            TimeoutError,
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            sqlalchemy.exc.TimeoutError,  # connection pool exhausted
            sqlalchemy.exc.DisconnectionError,
            BackendUnavailable,
        ),
    )


def _rejected(exc: BaseException) -> bool:
    return isinstance(
        exc,
        (
            sqlalchemy.exc.SQLAlchemyError,
            redis.exceptions.RedisError,
            KafkaException,
            BusError,  # one the adapter marked not transient: the bus answered "no"
            StoreError,
            CoordinationError,
        ),
    )
