"""What the operator actions and the leader tell each other through the
coordination store: migration requests, their results, the leader's status.

Migrations are carried out by the leader only (it alone owns placement, so
nothing else can race it): ``ops.migrate`` writes a ``MigrationRequest`` under
``names.migration_request_key(pid)`` and waits for the ``MigrationResult``
under ``names.migration_result_key(request_id)``. The leader publishes a
``SchedulerStatus`` every tick at ``names.SCHEDULER_STATUS_KEY`` for
``livecore status``; its ``pending`` reasons include ``NO_LIVE_NODE`` and
``NO_CAPACITY``.
"""

from __future__ import annotations

import msgspec

from livecore.ports.coordination import Coordination
from livecore.wire import names

REQUEST_TTL = 120.0
RESULT_TTL = 600.0

# why a portfolio waits for a node (``SchedulerStatus.pending``)
NO_LIVE_NODE = "no live node"
NO_CAPACITY = "no live node with free capacity"


class MigrationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Move ``portfolio_id`` to ``to`` (None: the placement function picks, never the source)."""

    request_id: str
    portfolio_id: str
    to: str | None = None
    requested_ns: int
    origin: str = "operator"


class MigrationResult(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of one migration. ``gap_ms``: from the source's ack (it stopped
    trading) to the target's ack (it trades again), as seen by the leader."""

    request_id: str
    portfolio_id: str
    ok: bool
    source: str | None = None
    target: str | None = None
    epoch: int | None = None
    gap_ms: float | None = None
    detail: str = ""
    finished_ns: int = 0


class MigrationProgress(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    source: str
    target: str
    phase: str
    origin: str


class SchedulerStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The leader's view, refreshed every tick: why portfolios wait, what moves."""

    leader: str
    leader_epoch: int
    updated_ns: int
    tick_interval: float
    pending: dict[str, str] = {}
    stale: dict[str, list[str]] = {}
    migrations: list[MigrationProgress] = []


def read_json(coord: Coordination, key: str, kind: type[msgspec.Struct]) -> msgspec.Struct | None:
    """Decode the JSON struct at ``key``; None if absent or unreadable."""
    raw = coord.get(key)
    if raw is None:
        return None
    try:
        value: msgspec.Struct = msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError:
        return None
    return value


def write_json(coord: Coordination, key: str, value: msgspec.Struct, ttl: float) -> None:
    coord.set(key, msgspec.json.encode(value).decode(), ttl)


def read_status(coord: Coordination) -> SchedulerStatus | None:
    found = read_json(coord, names.SCHEDULER_STATUS_KEY, SchedulerStatus)
    return found if isinstance(found, SchedulerStatus) else None


def read_result(coord: Coordination, request_id: str) -> MigrationResult | None:
    found = read_json(coord, names.migration_result_key(request_id), MigrationResult)
    return found if isinstance(found, MigrationResult) else None


def pending_requests(coord: Coordination) -> list[MigrationRequest]:
    """Every unclaimed migration request, oldest first."""
    found = []
    for key in coord.scan(names.MIGRATION_REQUEST_PREFIX):
        value = read_json(coord, key, MigrationRequest)
        if isinstance(value, MigrationRequest):
            found.append(value)
        else:
            coord.delete(key)
    return sorted(found, key=lambda r: (r.requested_ns, r.portfolio_id))
