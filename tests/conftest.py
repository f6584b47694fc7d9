"""Session-wide fixtures: real servers started once per test session.

``kafka_url``, ``redis_url`` and ``postgres_url`` start a Tansu broker, a private
redis-server and a fresh PostgreSQL database; ``bus_url``/``coord_url``/``db_url``
are parametrized over the embedded backend and the real one, so a test that
uses them runs against both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.servers import postgres_database, redis_server, tansu_broker

# Property tests assert behaviour, not speed: no per-example deadline and no
# "too slow" health check, which a loaded machine trips at random. Tests that
# pass their own settings keep them.
settings.register_profile("livecore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("livecore")


@pytest.fixture(scope="session")
def kafka_url() -> Iterator[str]:
    with tansu_broker() as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["memory", "kafka"])
def bus_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on the in-process bus and on Tansu."""
    if request.param == "memory":
        return f"memory://{uuid.uuid4().hex}"
    return str(request.getfixturevalue("kafka_url"))


@pytest.fixture(params=["memory", "redis"])
def coord_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on in-process coordination and on redis-server."""
    if request.param == "memory":
        return f"memory://{uuid.uuid4().hex}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'livecore.db'}"
    return str(request.getfixturevalue("postgres_url"))
