"""Open a backend from its URL, checking that it answers.

A wrong URL raises ``ConfigError``; a server that does not answer raises
``BackendUnavailable`` naming it: both fit on one line for the CLI.
"""

from __future__ import annotations

from livecore.config import redact, validate_bus_url, validate_coord_url, validate_db_url
from livecore.errors import BackendUnavailable
from livecore.ports.bus import Bus
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store


def open_bus(url: str, check: bool = True) -> Bus:
    validate_bus_url(url)
    bus: Bus
    if url.startswith("memory://"):
        from livecore.adapters.memory_bus import MemoryBus

        bus = MemoryBus.named(url)
    else:
        from livecore.adapters.kafka_bus import KafkaBus

        bus = KafkaBus(url)
    if check:
        try:
            bus.ping()
        except Exception as exc:
            bus.close()
            raise BackendUnavailable(f"cannot reach Kafka at {redact(url)}: {exc}") from None
    return bus


def open_coordination(url: str, check: bool = True) -> Coordination:
    validate_coord_url(url)
    coord: Coordination
    if url.startswith("memory://"):
        from livecore.adapters.memory_coordination import MemoryCoordination

        coord = MemoryCoordination.named(url)
    else:
        from livecore.adapters.redis_coordination import RedisCoordination

        coord = RedisCoordination(url)
    if check:
        try:
            coord.ping()
        except Exception as exc:
            coord.close()
            raise BackendUnavailable(f"cannot reach Redis at {redact(url)}: {exc}") from None
    return coord


def open_store(url: str, check: bool = True) -> Store:
    validate_db_url(url)
    from livecore.adapters.sql_store import SqlStore

    try:
        store: Store = SqlStore(url)
        if check:
            store.ping()
    except Exception as exc:
        raise BackendUnavailable(f"cannot open database {redact(url)}: {exc}") from None
    return store
