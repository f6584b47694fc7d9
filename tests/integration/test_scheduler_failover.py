"""Failure detection by heartbeat expiry and failover, with a threaded scheduler
and threaded fake nodes on in-process coordination and on a real redis-server."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.servers import wait_until
from tests.unit.scheduler.harness import harness

from livecore.control.requests import MigrationRequest, read_result, write_json
from livecore.wire import names

NODE_TTL = 0.6
WAIT = 15.0


def _ids(prefix: str, count: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"{prefix}{i}-{tag}" for i in range(count)]


def test_expired_heartbeat_means_failover_with_new_epochs(tmp_path: Path, coord_url: str) -> None:
    with harness(tmp_path, coord_url) as h:
        a_id, b_id = _ids("node", 2)
        pids = _ids("p", 3)
        a = h.node(a_id, ttl=NODE_TTL)
        a.start()
        for pid in pids:
            h.deploy(pid)
        sched = h.scheduler(lease_name=f"lease-{uuid.uuid4().hex}", tick_interval=0.05, rebalance_moves=0)
        sched.start()
        wait_until(lambda: a.loaded == dict.fromkeys(pids, 1), WAIT, "portfolios loaded on a")
        b = h.node(b_id, ttl=NODE_TTL)
        b.start()
        a.stop()  # no more heartbeats: the key expires after its TTL
        wait_until(lambda: b.loaded == dict.fromkeys(pids, 2), WAIT, "portfolios failed over to b")
        for pid in pids:
            assert h.fence(pid) == (2, b_id)
            entry = h.store.registry.get(pid)
            assert entry is not None and (entry.node_id, entry.epoch) == (b_id, 2)
        failovers = [f for f in h.store.audit.recent(event="failover") if f.detail["portfolio_id"] in pids]
        assert len(failovers) == 3 and {f.detail["to"] for f in failovers} == {b_id}
        # "a" was only cut off: it resumes with its old copies, drops them at its
        # first fence check, and the scheduler leaves them on b.
        a.start()
        wait_until(lambda: a.loaded == {}, WAIT, "the returning node drops its stale copies")
        for running in (a, b, sched):
            running.stop()
        h.step(sched, rounds=3)  # a few more passes, driven by hand now
        assert a.loaded == {}
        assert b.loaded == dict.fromkeys(pids, 2)


def test_migration_end_to_end_with_threads(tmp_path: Path, coord_url: str) -> None:
    with harness(tmp_path, coord_url) as h:
        a_id, b_id = _ids("node", 2)
        (pid,) = _ids("p", 1)
        a = h.node(a_id, ttl=NODE_TTL, interval=0.01)
        a.start()
        h.deploy(pid)
        sched = h.scheduler(lease_name=f"lease-{uuid.uuid4().hex}", tick_interval=0.1, rebalance_moves=0)
        sched.start()
        wait_until(lambda: a.loaded == {pid: 1}, WAIT, "portfolio loaded on a")
        b = h.node(b_id, ttl=NODE_TTL, interval=0.01)
        b.start()
        wait_until(lambda: h.coord.hgetall(f"node:metrics:{b_id}") != {}, WAIT, "b reports")
        rid = uuid.uuid4().hex
        write_json(
            h.coord,
            names.migration_request_key(pid),
            MigrationRequest(request_id=rid, portfolio_id=pid, to=b_id, requested_ns=1),
            60,
        )
        wait_until(lambda: read_result(h.coord, rid) is not None, WAIT, "migration result")
        result = read_result(h.coord, rid)
        assert result is not None and result.ok, result
        assert result.gap_ms is not None
        assert b.loaded == {pid: 2} and a.loaded == {}
        # The source's migrate was handled before the target ever got a load.
        migrate_at = next(c.issued_at_ns for c in a.commands if c.command == "portfolio.migrate")
        load_at = next(c.issued_at_ns for c in b.commands if c.command == "portfolio.load")
        assert migrate_at < load_at
