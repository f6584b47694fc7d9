"""The mutating endpoints: auth, the ops actions they call (answered by fake
nodes over the embedded bus) and how each outcome maps to a status code."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.ops import OpsConfig
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.service import Scheduler
from livecore.wire import names
from tests.servers import wait_until
from tests.unit.api.conftest import AUTH
from tests.unit.api.helpers import TOKEN, simulate
from tests.unit.ops.helpers import World, spec_text, world

MUTATIONS = [
    ("/api/portfolios/alpha/reload", None),
    ("/api/portfolios/alpha/stop", None),
    ("/api/portfolios/alpha/migrate", {"to": "auto"}),
    ("/api/nodes/node-a/shutdown", None),
    ("/api/nodes/node-a/pause", None),
    ("/api/nodes/node-a/resume", None),
]


# --- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), MUTATIONS)
def test_without_a_configured_token_mutations_are_forbidden(system: World, path: str, body: object) -> None:
    with TestClient(create_app(system.ops, ApiConfig())) as client:
        response = client.post(path, json=body, headers=AUTH)
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"
        assert "no API token is configured" in response.json()["message"]
        assert "LIVECORE_API_TOKEN" in response.json()["message"]
        assert client.get("/api/status").status_code == 200  # reads stay open


@pytest.mark.parametrize(("path", "body"), MUTATIONS)
def test_a_missing_or_wrong_token_is_401(client: TestClient, path: str, body: object) -> None:
    cases: dict[str | bytes | None, str] = {
        None: "missing Authorization header",
        f"Basic {TOKEN}": "malformed Authorization header",
        "Bearer": "malformed Authorization header",
        "Bearer wrong-token": "invalid API token",
        f"Bearer {TOKEN}x": "invalid API token",
        "Bearer ünïcode".encode("latin-1"): "invalid API token",
    }
    for header, message in cases.items():
        headers: dict[str, str | bytes] = {} if header is None else {"Authorization": header}
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"
        assert message in response.json()["message"]


def test_auth_is_checked_before_the_body_and_the_ids(client: TestClient) -> None:
    """An anonymous caller learns nothing: not which portfolios exist, not the body schema."""
    assert client.post("/api/portfolios/ghost/reload").status_code == 401
    assert client.post("/api/portfolios/alpha/migrate", content=b"{bad").status_code == 401


# --- portfolio actions ----------------------------------------------------------------------


def test_reload_reaches_the_hosting_node(system: World, client: TestClient) -> None:
    node = system.node("node-a")
    node.loaded["alpha"] = 1
    node.start()
    response = client.post("/api/portfolios/alpha/reload", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["ok"], body["node_id"], body["command"], body["portfolio_id"]) == (
        True,
        "node-a",
        "portfolio.reload",
        "alpha",
    )
    assert [c.command for c in node.commands] == ["portfolio.reload"]


def test_a_node_refusal_is_409_with_its_answer(system: World, client: TestClient) -> None:
    system.node("node-a").start()  # does not host alpha: refuses the reload
    response = client.post("/api/portfolios/alpha/reload", headers=AUTH)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "refused" and body["message"] == "node node-a refused the reload: not loaded"
    assert body["result"]["ok"] is False and body["result"]["node_id"] == "node-a"


def test_unknown_and_stopped_portfolios(client: TestClient) -> None:
    for action in ("reload", "stop"):
        response = client.post(f"/api/portfolios/ghost/{action}", headers=AUTH)
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": "no portfolio 'ghost' in the registry"}
    response = client.post("/api/portfolios/delta/reload", headers=AUTH)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict" and "not running on any node" in response.json()["message"]


def test_stop_unloads_and_marks_stopped(system: World, client: TestClient) -> None:
    node = system.node("node-a")
    node.loaded["alpha"] = 1
    node.start()
    response = client.post("/api/portfolios/alpha/stop", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["was"] == "running" and body["unload"]["ok"] is True
    assert "alpha" not in node.loaded
    entry = system.ops.store.registry.get("alpha")
    assert entry is not None and entry.desired == "stopped"
    # gamma sits on a dead node: stopped in the registry, nothing to unload.
    gamma = client.post("/api/portfolios/gamma/stop", headers=AUTH).json()
    assert gamma["unload"] is None and "not alive" in gamma["detail"]


def test_a_silent_node_is_504(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=0.2) as w:
        simulate(w.ops)
        node = w.node("node-a")
        node.loaded["alpha"] = 1
        node.answer = False
        node.start()
        with TestClient(create_app(w.ops, ApiConfig(token=TOKEN))) as client:
            response = client.post("/api/portfolios/alpha/reload", headers=AUTH)
            assert response.status_code == 504
            assert response.json()["error"] == "timeout"
            assert "node node-a did not acknowledge portfolio.reload alpha within 0.2s" in response.json()["message"]


def test_without_a_bus_commands_are_503(system: World) -> None:
    read_only = dataclasses.replace(system.ops, channel=None)
    with TestClient(create_app(read_only, ApiConfig(token=TOKEN))) as client:
        response = client.post("/api/portfolios/alpha/reload", headers=AUTH)
        assert response.status_code == 503
        assert "sends commands" in response.json()["message"]


# --- migrate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"", "body"),
        (b"{bad json", "body"),
        (b"{}", "to"),
        (b'{"to": ""}', "to"),
        (b'{"to": 5}', "to"),
        (b'{"to": "node-b", "now": true}', "now"),
        (b"[]", "body"),
        (b'"node-b"', "body"),
    ],
)
def test_a_bad_migrate_body_is_422_naming_the_field(client: TestClient, content: bytes, field: str) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/api/portfolios/alpha/migrate", content=content, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request" and body["message"].startswith("invalid request: ")
    assert field in [f["field"] for f in body["fields"]] or field == "body", body


def test_migrate_refusals(client: TestClient) -> None:
    def migrate(pid: str, to: str) -> tuple[int, str]:
        response = client.post(f"/api/portfolios/{pid}/migrate", json={"to": to}, headers=AUTH)
        return response.status_code, response.json()["message"]

    assert migrate("ghost", "node-b") == (404, "no portfolio 'ghost' in the registry")
    assert migrate("alpha", "node-z") == (404, "no node 'node-z' is known (no heartbeat, no metrics)")
    assert migrate("alpha", "node-a") == (409, "alpha already runs on node-a")
    assert migrate("delta", "auto") == (409, "delta is not running on any node; nothing to migrate")
    code, message = migrate("alpha", "auto")
    assert code == 409 and "no scheduler is leading" in message


def test_migrate_timeout_is_504(system: World) -> None:
    impatient = dataclasses.replace(system.ops, config=OpsConfig(ack_timeout=0.2, migrate_timeout=0.2))
    system.ops.coord.acquire_lease(names.SCHEDULER_LEADER_LEASE, "asleep", 30)  # leads, does nothing
    with TestClient(create_app(impatient, ApiConfig(token=TOKEN))) as client:
        response = client.post("/api/portfolios/alpha/migrate", json={"to": "node-b"}, headers=AUTH)
        assert response.status_code == 504
        assert "never took the request" in response.json()["message"]


def test_migrate_returns_the_leaders_result(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        w.ops.store.registry.upsert("alpha", spec_text("alpha"), "running", 1)
        a, b = w.node("a", interval=0.01), w.node("b", interval=0.01)
        a.start()
        b.start()
        wait_until(lambda: len(w.ops.coord.scan(names.HEARTBEAT_PREFIX)) == 2, 5, "both nodes beat")
        config = SchedulerConfig(tick_interval=0.05, lease_ttl=2.0, rebalance_moves=0)
        sched = Scheduler(config, w.ops.coord, w.ops.store, w.ops.commands())
        sched.start()
        try:
            wait_until(lambda: "alpha" in a.loaded or "alpha" in b.loaded, 5, "alpha placed")
            source, target = ("a", "b") if "alpha" in a.loaded else ("b", "a")
            with TestClient(create_app(w.ops, ApiConfig(token=TOKEN))) as client:
                response = client.post("/api/portfolios/alpha/migrate", json={"to": target}, headers=AUTH)
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["ok"], body["source"], body["target"], body["epoch"]) == (True, source, target, 2)
            assert w.nodes[target].loaded == {"alpha": 2}
        finally:
            sched.stop()


# --- node actions ---------------------------------------------------------------------------


def test_pause_resume_shutdown_reach_the_node(system: World, client: TestClient) -> None:
    node = system.node("node-a")
    node.start()
    paused = client.post("/api/nodes/node-a/pause", headers=AUTH)
    assert paused.status_code == 200 and paused.json()["command"] == "node.pause"
    assert node.state == "paused"
    assert client.post("/api/nodes/node-a/resume", headers=AUTH).status_code == 200
    assert node.state == "running"
    assert client.post("/api/nodes/node-a/shutdown", headers=AUTH).json()["detail"] == "shutting down"
    assert node.shut_down


def test_unknown_and_dead_nodes(client: TestClient) -> None:
    response = client.post("/api/nodes/ghost/pause", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["message"] == "no node 'ghost' is known (no heartbeat, no metrics)"
    response = client.post("/api/nodes/node-c/shutdown", headers=AUTH)  # metrics linger, heartbeat gone
    assert response.status_code == 409
    assert "node node-c is not alive" in response.json()["message"]


def test_get_on_an_action_is_405(client: TestClient) -> None:
    assert client.get("/api/nodes/node-a/pause").status_code == 405


def test_a_form_body_is_422_saying_what_to_send(client: TestClient) -> None:
    headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/api/portfolios/alpha/migrate", content=b"to=node-b", headers=headers)
    assert response.status_code == 422
    assert "send a JSON object with Content-Type: application/json" in response.json()["message"]
