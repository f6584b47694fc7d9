"""The one classification every consumer loop uses."""

from __future__ import annotations

import pytest
import redis.exceptions
import sqlalchemy.exc
from confluent_kafka import KafkaError, KafkaException

from livecore.adapters.memory_bus import MemoryBus
from livecore.errors import BackendUnavailable
from livecore.faults import Fault, RetryPolicy, classify, describe, kafka_error_is_transient
from livecore.ports.bus import BusError
from livecore.ports.coordination import CoordinationError
from livecore.ports.store import StoreError


def dbapi(kind: type[sqlalchemy.exc.DBAPIError], invalidated: bool = False) -> sqlalchemy.exc.DBAPIError:
    return kind("INSERT ...", {}, Exception("driver says no"), connection_invalidated=invalidated)


def wrapped(outer: Exception, inner: BaseException) -> Exception:
    """``outer`` raised ``from inner``, as the adapters do."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError("refused"),
        TimeoutError("slow"),
        redis.exceptions.ConnectionError("gone"),
        redis.exceptions.TimeoutError("slow"),
        dbapi(sqlalchemy.exc.OperationalError),
        dbapi(sqlalchemy.exc.InterfaceError),
        dbapi(sqlalchemy.exc.DatabaseError, invalidated=True),
        sqlalchemy.exc.TimeoutError("pool exhausted"),
        BusError("broker down"),
        BusError("queue full", transient=True),
        BackendUnavailable("no redis"),
        # a Redis failover or restart in progress: the same command succeeds after it
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
        redis.exceptions.ClusterDownError("CLUSTERDOWN The cluster is down"),
        redis.exceptions.TryAgainError("TRYAGAIN"),
        redis.exceptions.MasterDownError("MASTERDOWN Link with MASTER is down"),
        redis.exceptions.BusyLoadingError("LOADING Redis is loading the dataset in memory"),
        KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT)),
        KafkaException(KafkaError(KafkaError._TRANSPORT)),
        KafkaException(KafkaError(KafkaError._ALL_BROKERS_DOWN)),
    ],
)
def test_a_backend_that_does_not_answer_is_transient(exc: Exception) -> None:
    assert classify(exc) is Fault.TRANSIENT


@pytest.mark.parametrize(
    "exc",
    [
        dbapi(sqlalchemy.exc.IntegrityError),
        dbapi(sqlalchemy.exc.DataError),
        dbapi(sqlalchemy.exc.ProgrammingError),
        redis.exceptions.ResponseError("WRONGTYPE"),
        StoreError("journal row unreadable"),
        CoordinationError("key holds a hash"),
        KafkaException(KafkaError(KafkaError._INVALID_ARG)),
        KafkaException(KafkaError(KafkaError._TRANSPORT, fatal=True)),  # fatal: never clears by itself
        BusError("producer is closed", transient=False),
        BusError("cannot seek t[0]: not assigned", transient=False),
        BusError("cannot publish to t: Broker: Message size too large", transient=False),
    ],
)
def test_a_backend_that_answers_no_is_rejected(exc: Exception) -> None:
    assert classify(exc) is Fault.REJECTED


@pytest.mark.parametrize(
    "exc", [ValueError("bad"), KeyError("k"), ArithmeticError("overflow"), OverflowError("int"), RecursionError()]
)
def test_anything_else_is_a_defect(exc: Exception) -> None:
    assert classify(exc) is Fault.DEFECT


def test_the_cause_chain_decides_for_wrapped_errors() -> None:
    assert classify(wrapped(StoreError("write failed"), dbapi(sqlalchemy.exc.OperationalError))) is Fault.TRANSIENT
    assert classify(wrapped(StoreError("write failed"), dbapi(sqlalchemy.exc.DataError))) is Fault.REJECTED
    assert classify(wrapped(CoordinationError("SET"), redis.exceptions.ConnectionError())) is Fault.TRANSIENT
    assert classify(wrapped(RuntimeError("bug"), ConnectionResetError())) is Fault.TRANSIENT
    assert classify(wrapped(CoordinationError("fence"), redis.exceptions.ReadOnlyError())) is Fault.TRANSIENT
    assert classify(wrapped(CoordinationError("fence"), redis.exceptions.ResponseError("WRONGTYPE"))) is Fault.REJECTED


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (KafkaError(KafkaError._MSG_TIMED_OUT), True),
        (KafkaError(KafkaError._ALL_BROKERS_DOWN), True),
        (KafkaError(KafkaError._UNKNOWN_TOPIC), True),  # the watchdog re-creates a lost topic
        (KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION, retriable=True), True),
        (KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), False),
        (KafkaError(KafkaError._INVALID_ARG), False),
        (KafkaError(KafkaError._MSG_TIMED_OUT, fatal=True), False),
    ],
)
def test_kafka_errors_the_adapters_mark_transient(error: KafkaError, transient: bool) -> None:
    assert kafka_error_is_transient(error) is transient


def test_a_bus_error_is_transient_unless_the_adapter_says_otherwise() -> None:
    assert BusError("broker down").transient
    assert not BusError("producer is closed", transient=False).transient


def test_a_self_referencing_chain_terminates() -> None:
    exc = ValueError("loop")
    exc.__cause__ = exc
    assert classify(exc) is Fault.DEFECT


def test_describe_names_the_type_and_is_bounded() -> None:
    assert describe(ValueError("bad price")) == "ValueError: bad price"
    long = describe(ValueError("x" * 10_000), limit=100)
    assert len(long) == 100 and long.endswith("...")


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_s=0.1, max_backoff_s=0.5)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert policy.backoff(10_000) == 0.5


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"backoff_s": -1.0}, {"backoff_s": 2.0, "max_backoff_s": 1.0}])
def test_a_bad_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_memory_bus_marks_its_final_refusals_not_transient() -> None:
    bus = MemoryBus()
    producer = bus.producer()
    producer.close()
    with pytest.raises(BusError) as closed:
        producer.publish("t", "k", b"v")
    assert classify(closed.value) is Fault.REJECTED
    with pytest.raises(BusError) as bad_reset:
        bus.consumer("g", ["t"], "nowhere")  # type: ignore[arg-type]
    assert classify(bad_reset.value) is Fault.REJECTED
