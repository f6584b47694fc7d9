"""Failure detection from heartbeats and tolerant metrics parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from livecore.control.cluster import node_state, parse_timestamp
from livecore.control.metrics import parse_portfolios

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat()


def test_missing_heartbeat_key_means_dead() -> None:
    node = node_state("a", None, {"portfolios": "{}"}, NOW, dead_after=None)
    assert not node.alive and node.state == "dead" and not node.accepting


def test_live_key_means_alive_unless_older_than_dead_after() -> None:
    fresh = node_state("a", iso(1), {"portfolios": "{}", "state": "running"}, NOW, dead_after=3)
    assert fresh.alive and fresh.accepting and fresh.heartbeat_age == 1
    old = node_state("a", iso(5), {"portfolios": "{}"}, NOW, dead_after=3)
    assert not old.alive
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
