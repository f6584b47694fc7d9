"""The one classification every consumer loop uses."""

from __future__ import annotations

import pytest
import redis.exceptions
import sqlalchemy.exc
from confluent_kafka import KafkaError, KafkaException

from livecore.errors import BackendUnavailable
from livecore.faults import Fault, RetryPolicy, classify, describe
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
        BackendUnavailable("no redis"),
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
