"""Planned migration, requested by an operator and carried out by the leader.

The scheduler leader alone changes placements, so this action does not move
anything itself: it checks what it can, writes a ``MigrationRequest`` to the
coordination store and waits for the leader's ``MigrationResult`` (source
drained and acked, next epoch granted to the target, target loaded, trading
gap measured). See ``scheduler/migration.py`` for the sequence.
"""

from __future__ import annotations

import threading
import time
import uuid

from livecore.control.requests import REQUEST_TTL, MigrationRequest, MigrationResult, read_json, read_result, write_json
from livecore.errors import LivecoreError
from livecore.ops.context import Ops, OpsError
from livecore.wire import names

AUTO = "auto"
POLL = 0.02


class MigrationTimeout(LivecoreError):
    """The leader gave no result in time (the migration may still complete)."""


def migrate(ops: Ops, portfolio_id: str, to: str, timeout: float | None = None) -> MigrationResult:
    """Move ``portfolio_id`` to node ``to`` (or ``"auto"``: placement picks, never the
    source) and return the leader's result. Raises ``OpsError`` if it cannot even
    start, ``MigrationTimeout`` if the leader does not answer in time."""
    entry = ops.store.registry.get(portfolio_id)
    if entry is None:
        raise OpsError(f"no portfolio {portfolio_id!r} in the registry")
    if entry.desired != "running" or entry.node_id is None:
        raise OpsError(f"{portfolio_id} is not running on any node; nothing to migrate")
    target = None if to == AUTO else to
    if target == entry.node_id:
        raise OpsError(f"{portfolio_id} already runs on {target}")
    lease = ops.coord.current_lease(ops.config.lease_name)
    if lease is None:
        raise OpsError("no scheduler is leading: migrations are carried out by the leader (`livecore scheduler`)")
    key = names.migration_request_key(portfolio_id)
    if read_json(ops.coord, key, MigrationRequest) is not None:
        raise OpsError(f"a migration of {portfolio_id} is already requested")
    request = MigrationRequest(
        request_id=uuid.uuid4().hex, portfolio_id=portfolio_id, to=target, requested_ns=ops.wall_ns()
    )
    write_json(ops.coord, key, request, REQUEST_TTL)
    limit = ops.config.migrate_timeout if timeout is None else timeout
    waiter = threading.Event()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = read_result(ops.coord, request.request_id)
        if result is not None:
            return result
        waiter.wait(POLL)
    taken = ops.coord.get(key) is None
    if not taken:
        ops.coord.delete(key)
    raise MigrationTimeout(
        f"no migration result for {portfolio_id} within {limit:g}s "
        + (
            "(the leader took the request; it may still complete: check `livecore status`)"
            if taken
            else "(the leader never took the request; it was withdrawn)"
        )
    )
