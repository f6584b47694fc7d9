"""The events page's API (the audit, filtered and paged) and the nodes' health
history the API process samples itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.api.history import LOST, NodeHistory
from livecore.control.cluster import Cluster, NodeState
from livecore.control.events import EVENT_GROUPS, AuditEvent
from livecore.wire import names
from tests.servers import wait_until
from tests.unit.api.helpers import NODE_A, TOKEN, node, simulate_history
from tests.unit.ops.helpers import World


@pytest.fixture
def app(system: World) -> FastAPI:
    simulate_history(system.ops)
    return create_app(system.ops, ApiConfig(token=TOKEN, history_interval_s=3600, history_samples=4))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_events_newest_first_with_time_and_group(client: TestClient) -> None:
    body = client.get("/api/events").json()
    assert [e["event"] for e in body["events"]] == ["command_refused", "failover", "node_lost"]
    refused = body["events"][0]
    assert refused["group"] == "refused" and refused["component"] == "node"
    assert refused["detail"]["reason"] == "forged"
    assert refused["time"].endswith("+00:00") and refused["ts_ns"] > 0
    assert body["before"] is None
    assert body["groups"]["halts"] == ["cluster_halt", "cluster_resume"]
    assert set(body["groups"]) == set(EVENT_GROUPS)


def test_events_filtered_by_group_event_and_portfolio(client: TestClient) -> None:
    def events(**query: object) -> list[str]:
        response = client.get("/api/events", params=query)
        assert response.status_code == 200, response.text
        return [e["event"] for e in response.json()["events"]]

    assert events(group="failovers") == ["failover"]
    assert events(group="nodes") == ["node_lost"]
    assert events(event="command_refused") == ["command_refused"]
    assert events(group="failovers", event="node_lost") == []  # both must hold
    assert events(portfolio="gamma") == ["failover"]
    assert events(portfolio="alpha") == []
    assert events(group="halts") == []


def test_events_are_paged(client: TestClient) -> None:
    first = client.get("/api/events", params={"limit": 2}).json()
    assert [e["event"] for e in first["events"]] == ["command_refused", "failover"]
    rest = client.get("/api/events", params={"limit": 2, "before": first["before"]}).json()
    assert [e["event"] for e in rest["events"]] == ["node_lost"] and rest["before"] is None


def test_an_unknown_group_is_422_and_every_kind_is_listed(client: TestClient) -> None:
    response = client.get("/api/events", params={"group": "nope"})
    assert response.status_code == 422 and "unknown group" in response.json()["message"]
    kinds = client.get("/api/events/kinds").json()
    assert kinds["node_lost"] == "nodes" and kinds["cluster_halt"] == "halts"
    assert set(kinds) == {str(e) for e in AuditEvent}


def test_node_history_follows_a_node_from_alive_to_dead_to_lost(system: World, app: FastAPI) -> None:
    sampler = app.state.history_sampler
    client = TestClient(app)  # not entered: no lifespan, so the test alone samples
    sampler.sample()
    body = client.get("/api/nodes/history").json()
    assert (body["interval_s"], body["samples"]) == (3600, 4)
    states = {n["node_id"]: n["state"] for n in body["nodes"]}
    assert states == {"node-a": "running", "node-b": "paused", "node-c": "dead"}
    system.ops.coord.delete(names.heartbeat_key("node-a"))
    sampler.sample()
    system.ops.coord.delete(names.metrics_key("node-a"))  # killed long enough: nothing left in the store
    sampler.sample()
    tracks = {n["node_id"]: n for n in client.get("/api/nodes/history").json()["nodes"]}
    a = tracks["node-a"]
    assert [s["state"] for s in a["samples"]] == ["running", "dead", LOST]
    assert a["state"] == LOST and a["last_alive"] == a["samples"][0]["t"]
    assert a["samples"][0]["heartbeat_age_s"] is not None and a["samples"][2]["heartbeat_age_s"] is None
    node(system.ops, "node-a", NODE_A, heartbeat_age=0.1)  # restarted under its id
    sampler.sample()
    tracks = {n["node_id"]: n for n in client.get("/api/nodes/history").json()["nodes"]}
    assert [s["state"] for s in tracks["node-a"]["samples"]] == ["running", "dead", LOST, "running"]


def test_node_history_names_the_nodes_the_leader_lost_within_its_window(system: World, app: FastAPI) -> None:
    audit, now = system.ops.store.audit, time.time_ns()
    audit.record("scheduler", AuditEvent.NODE_LOST, {"node_id": "node-old", "portfolios": []}, now - 5 * 3600 * 10**9)
    audit.record("scheduler", AuditEvent.NODE_LOST, {"node_id": "node-z", "portfolios": ["p1"]}, now - 10**9)
    audit.record("scheduler", AuditEvent.NODE_LOST, {"node_id": "node-y", "portfolios": []}, now - 10**9)
    audit.record("scheduler", AuditEvent.NODE_JOINED, {"node_id": "node-y"}, now)  # back since
    body = TestClient(app).get("/api/nodes/history").json()  # window: 4 samples of an hour (4 h)
    events = {nid: e["event"] for nid, e in body["audit"].items()}
    assert events == {"node-z": "node_lost", "node-y": "node_joined", "node-b": "node_lost"}  # node-b: simulated
    short = create_app(system.ops, ApiConfig(history_interval_s=1, history_samples=60))  # a minute
    assert set(TestClient(short).get("/api/nodes/history").json()["audit"]) == {"node-z", "node-y"}


def test_the_app_samples_on_its_own_while_it_runs(system: World) -> None:
    app = create_app(system.ops, ApiConfig(history_interval_s=0.05))
    with TestClient(app) as client:
        wait_until(lambda: len(client.get("/api/nodes/history").json()["nodes"]) == 3, 10, "a first sample")
        thread = app.state.history_sampler._thread
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive()  # stopped with the app


def test_a_node_lost_for_a_whole_ring_is_forgotten_and_the_count_is_bounded() -> None:
    history = NodeHistory(samples=3, max_nodes=2)
    history.record(Cluster({"a": NodeState("a", alive=True)}), 1.0)
    for t in (2.0, 3.0):
        history.record(Cluster({}), t)
    assert [(t.node_id, t.state) for t in history.tracks()] == [("a", LOST)]
    history.record(Cluster({}), 4.0)  # the whole ring says lost
    assert history.tracks() == []
    for t, nid in ((5.0, "x"), (6.0, "y"), (7.0, "z")):
        history.record(Cluster({nid: NodeState(nid, alive=True)}), t)
    assert [t.node_id for t in history.tracks()] == ["y", "z"]  # the longest lost went first
