"""The servers the tests start: one copy, in ``livecore.testing.servers``
(shared with ``bench/``); this module keeps the suite's import path."""

from __future__ import annotations

from livecore.testing.servers import (
    POSTGRES_ADMIN_URL,
    ServerProcess,
    ServerUnavailable,
    free_port,
    postgres_database,
    redis_server,
    restart_redis,
    s3_tansu_broker,
    tansu_broker,
    tansu_bus_url,
    wait_until,
)

__all__ = [
    "POSTGRES_ADMIN_URL",
    "ServerProcess",
    "ServerUnavailable",
    "free_port",
    "postgres_database",
    "redis_server",
    "restart_redis",
    "s3_tansu_broker",
    "tansu_broker",
    "tansu_bus_url",
    "wait_until",
]
