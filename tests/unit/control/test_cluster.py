"""Failure detection from heartbeats and sessions, and tolerant metrics parsing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.control.cluster import NodeLoss, node_state, observe, parse_timestamp
from livecore.control.metrics import parse_portfolios
from livecore.ports.coordination import CoordinationError, SessionState
from livecore.wire import names

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat()


def test_missing_heartbeat_key_means_dead() -> None:
    node = node_state("a", None, {"portfolios": "{}"}, NOW, dead_after=None)
    assert not node.alive and node.state == "dead" and not node.accepting
    assert node.lost is NodeLoss.HEARTBEAT_EXPIRED


def test_a_closed_session_means_dead_while_the_heartbeat_key_still_lives() -> None:
    gone = node_state("a", iso(0), {"portfolios": "{}"}, NOW, None, SessionState.CLOSED)
    assert not gone.alive and gone.lost is NodeLoss.SESSION_CLOSED and gone.state == "dead"
    for state in (SessionState.OPEN, SessionState.UNKNOWN):  # open, or nothing known: the heartbeat decides
        node = node_state("a", iso(0), {"portfolios": "{}"}, NOW, None, state)
        assert node.alive and node.lost is None
    expired = node_state("a", None, {"portfolios": "{}"}, NOW, None, SessionState.CLOSED)
    assert expired.lost is NodeLoss.HEARTBEAT_EXPIRED  # the key is gone: that says it first


def test_live_key_means_alive_unless_older_than_dead_after() -> None:
    fresh = node_state("a", iso(1), {"portfolios": "{}", "state": "running"}, NOW, dead_after=3)
    assert fresh.alive and fresh.accepting and fresh.heartbeat_age == 1
    old = node_state("a", iso(5), {"portfolios": "{}"}, NOW, dead_after=3)
    assert not old.alive and old.lost is NodeLoss.HEARTBEAT_STALE
    no_threshold = node_state("a", iso(500), {"portfolios": "{}"}, NOW, dead_after=None)
    assert no_threshold.alive


def test_paused_or_unreported_nodes_take_no_new_portfolios() -> None:
    paused = node_state("a", iso(0), {"portfolios": "{}", "state": "paused"}, NOW, None)
    assert paused.alive and not paused.accepting
    silent = node_state("a", iso(0), {}, NOW, None)
    assert silent.alive and not silent.reports_known and not silent.accepting


def test_portfolios_field_parsing() -> None:
    assert parse_portfolios(json.dumps({"p1": 3, "p2": "4"})) == {"p1": 3, "p2": 4}
    assert parse_portfolios("not json") is None
    assert parse_portfolios("[1, 2]") is None
    assert parse_portfolios(None) is None
    assert parse_portfolios(json.dumps({"p1": True, "p2": 1.5})) == {}


def test_capacity_defaults_when_missing_or_bad() -> None:
    assert node_state("a", iso(0), {"capacity": "7"}, NOW, None).capacity(100) == 7
    assert node_state("a", iso(0), {"capacity": "x"}, NOW, None).capacity(100) == 100
    assert node_state("a", iso(0), {"capacity": "0"}, NOW, None).capacity(100) == 100


def test_timestamps_naive_or_z_are_utc() -> None:
    assert parse_timestamp("2024-05-01T12:00:00Z") == NOW
    assert parse_timestamp("2024-05-01T12:00:00") == NOW
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == NOW
    assert parse_timestamp("yesterday") is None


def _beat(coord: MemoryCoordination, node_id: str, session: str | None) -> None:
    coord.set(names.heartbeat_key(node_id), NOW.isoformat(), ttl=30)
    fields = {"portfolios": "{}"} | ({"session": session} if session else {})
    coord.hset(names.metrics_key(node_id), fields, ttl=30)


def test_observe_reads_the_sessions_the_metrics_name() -> None:
    coord = MemoryCoordination(f"memory://{uuid.uuid4().hex}")
    crashed, stalled = coord.open_session("a"), coord.open_session("b")
    _beat(coord, "a", crashed.token)
    _beat(coord, "b", stalled.token)
    _beat(coord, "c", None)  # reports no session: its TTL alone decides
    _beat(coord, "d", "x" + crashed.token)  # a token of an earlier run of the server
    crashed.close()
    cluster = observe(coord, NOW)
    assert set(cluster.alive) == {"b", "c", "d"}
    assert cluster.losses() == {"a": NodeLoss.SESSION_CLOSED}
    assert cluster.sessions() == {"b": stalled.token, "d": "x" + crashed.token}


class NoSessions(MemoryCoordination):
    """A backend that cannot list sessions (an old server, a proxy)."""

    def session_states(self, tokens: Collection[str]) -> dict[str, SessionState]:
        raise CoordinationError("ERR unknown subcommand 'LIST ID'")


def test_a_backend_that_cannot_read_sessions_leaves_the_ttl_rule_alone() -> None:
    coord = NoSessions(f"memory://{uuid.uuid4().hex}")
    session = coord.open_session("a")
    _beat(coord, "a", session.token)
    session.close()
    assert set(observe(coord, NOW).alive) == {"a"}
