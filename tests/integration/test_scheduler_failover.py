"""Failure detection (heartbeat expiry, closed sessions) and failover, with a
threaded scheduler and threaded fake nodes on in-process coordination and on a
real redis-server; a restart of redis-server fails nobody over."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from tests.servers import redis_server, restart_redis, wait_until
from tests.unit.scheduler.harness import harness

from livecore.control.requests import MigrationRequest, read_result, read_status, write_json
from livecore.ports.coordination import SessionState
from livecore.ports.store import AuditEntry
from livecore.wire import names

NODE_TTL = 0.6
LONG_TTL = 30.0  # longer than any wait here: a failover before it is the session's doing
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

        def recorded() -> list[AuditEntry]:
            return [f for f in h.store.audit.recent(event="failover") if f.detail["portfolio_id"] in pids]

        # the leader records each failover after it hands the portfolio over: b may load first
        wait_until(lambda: len(recorded()) == len(pids), WAIT, "every failover recorded")
        failovers = recorded()
        assert len(failovers) == 3 and {f.detail["to"] for f in failovers} == {b_id}
        # a stopped heartbeat with its session still open (a stalled process): the TTL rule
        assert {f.detail["reason"] for f in failovers} == {"heartbeat_expired"}
        # "a" was only cut off: it resumes with its old copies, drops them at its
        # first fence check, and the scheduler leaves them on b.
        a.start()
        wait_until(lambda: a.loaded == {}, WAIT, "the returning node drops its stale copies")
        for running in (a, b, sched):
            running.stop()
        h.step(sched, rounds=3)  # a few more passes, driven by hand now
        assert a.loaded == {}
        assert b.loaded == dict.fromkeys(pids, 2)


def test_a_killed_node_is_failed_over_by_its_closed_session_before_its_ttl(tmp_path: Path, coord_url: str) -> None:
    with harness(tmp_path, coord_url) as h:
        a_id, b_id = _ids("node", 2)
        pids = _ids("p", 3)
        a = h.node(a_id, ttl=LONG_TTL)
        a.start()
        for pid in pids:
            h.deploy(pid)
        sched = h.scheduler(lease_name=f"lease-{uuid.uuid4().hex}", tick_interval=0.05, rebalance_moves=0)
        sched.start()
        wait_until(lambda: a.loaded == dict.fromkeys(pids, 1), WAIT, "portfolios loaded on a")
        b = h.node(b_id, ttl=LONG_TTL)
        b.start()
        wait_until(lambda: bool(h.coord.hgetall(names.metrics_key(b_id))), WAIT, "b reports")
        a.crash()  # kill -9: its session ends with it; its heartbeat key lives on for 30 s
        wait_until(lambda: b.loaded == dict.fromkeys(pids, 2), WAIT, "portfolios failed over to b")
        assert h.coord.get(names.heartbeat_key(a_id)) is not None

        def failovers() -> list[AuditEntry]:
            return [f for f in h.store.audit.recent(event="failover") if f.detail["portfolio_id"] in pids]

        # the leader records each failover after it hands the portfolio over: b may load first
        wait_until(lambda: len(failovers()) == len(pids), WAIT, "every failover recorded")
        assert {(f.detail["portfolio_id"], f.detail["reason"]) for f in failovers()} == {
            (pid, "session_closed") for pid in pids
        }


@pytest.mark.redis
@pytest.mark.parametrize("keep_data", [True, False], ids=["keys-kept", "keys-lost"])
def test_a_restart_of_redis_fails_nobody_over_by_the_session_rule(tmp_path: Path, keep_data: bool) -> None:
    """Every connection drops at once when redis-server restarts: every session's
    token then belongs to the server's previous run (UNKNOWN, never CLOSED) until the
    node's next beat reports a new one. With its keys kept (persistence), nothing
    moves at all; with its keys lost, the heartbeats went with them and the TTL
    rule acts as it always did (docs/OPERATIONS.md), but the session rule adds
    nothing."""
    with redis_server() as server, harness(tmp_path, server.url) as h:
        ids = _ids("node", 2)
        pids = _ids("p", 4)
        nodes = [h.node(node_id, ttl=3.0) for node_id in ids]
        for node in nodes:
            node.start()
        for pid in pids:
            h.deploy(pid)
        sched = h.scheduler(tick_interval=0.05, lease_ttl=2.0, session_poll=0.01, rebalance_moves=0)
        wait_until(lambda: all(h.coord.hgetall(names.metrics_key(n)) for n in ids), WAIT, "nodes report")
        sched.start()
        wait_until(lambda: sorted(p for n in nodes for p in n.loaded) == sorted(pids), WAIT, "all loaded")
        placed = {e.portfolio_id: (e.node_id, e.epoch) for e in h.store.registry.list()}
        before = {n.node_id: n.session.token for n in nodes if n.session is not None}
        assert len(before) == 2

        restart_redis(server, keep_data=keep_data)
        assert set(h.coord.session_states(before.values()).values()) == {SessionState.UNKNOWN}

        def sessions_back() -> bool:
            tokens = {n: h.coord.hgetall(names.metrics_key(n)).get("session") for n in ids}
            if any(tokens[n] in (None, before[n]) for n in ids):
                return False
            return set(h.coord.session_states(list(tokens.values())).values()) == {SessionState.OPEN}

        wait_until(sessions_back, WAIT, "every node reports a new session")
        back_ns = time.time_ns()

        def passes_since() -> bool:
            status = read_status(h.coord)
            return status is not None and status.updated_ns > back_ns + 200_000_000

        wait_until(passes_since, WAIT, "the leader passes again after the restart")
        reasons = {f.detail["reason"] for f in h.store.audit.recent(event="failover")}
        assert "session_closed" not in reasons
        if keep_data:
            assert reasons == set()
            assert {e.portfolio_id: (e.node_id, e.epoch) for e in h.store.registry.list()} == placed


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
