"""The cluster kill switch as an operator action and over HTTP, against nodes
that answer commands (fakes that apply the halt state as a real node does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.control.halt import read_halt
from livecore.ops import OpsError
from livecore.ops.halt import AUDIT_HALT, AUDIT_RESUME, NO_ANSWER, halt, halt_status, resume
from livecore.ops.status import status
from tests.unit.ops.helpers import world

TOKEN = "t0ken"


def test_halt_is_recorded_first_acknowledged_per_node_audited_and_resumed(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=2.0) as w:
        a, b = w.node("node-a"), w.node("node-b")
        a.start(), b.start()
        b.answer = False  # takes commands, never acks: a hung node
        report = halt(w.ops, reason="venue outage", flatten=True, by="alice@desk")
        assert report.halted and report.reason == "venue outage" and report.flatten and report.by == "alice@desk"
        assert report.answers["node-a"].ok is True and report.acks["node-a"]
        assert report.answers["node-b"].ok is None and report.answers["node-b"].detail == NO_ANSWER
        state = read_halt(w.ops.coord)
        assert state is not None and state.flatten
        assert status(w.ops).halt is not None  # visible in every status
        assert [e.detail["reason"] for e in w.ops.store.audit.recent(10, event=AUDIT_HALT)] == ["venue outage"]
        again = halt(w.ops, reason="still out", flatten=False)
        assert again.flatten  # a flatten in force is never taken back by a later halt

        resumed = resume(w.ops, by="alice@desk")
        assert not resumed.halted and read_halt(w.ops.coord) is None
        assert status(w.ops).halt is None
        assert w.ops.store.audit.recent(10, event=AUDIT_RESUME)[0].detail["halted_for"] == "still out"
        with pytest.raises(OpsError, match="not halted"):
            resume(w.ops)
        with pytest.raises(OpsError, match="reason"):
            halt(w.ops, reason="  ")


def test_status_shows_which_live_node_has_applied_the_halt(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=2.0) as w:
        a = w.node("node-a")
        a.start()
        halt(w.ops, reason="drill")
        a.beat()
        assert halt_status(w.ops).acks == {"node-a": True}
        a.halted = False  # as if it had not applied it yet
        a.beat()
        assert halt_status(w.ops).acks == {"node-a": False}


def test_the_api_halts_and_resumes_with_the_token_and_shows_the_state_without(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=2.0) as w:
        w.node("node-a").start()
        client = TestClient(create_app(w.ops, ApiConfig(token=TOKEN)))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/api/cluster/halt").json()["halted"] is False
        assert client.post("/api/cluster/halt", json={"reason": "x"}).status_code == 401
        assert client.post("/api/cluster/halt", json={"reason": ""}, headers=auth).status_code == 422
        answer = client.post("/api/cluster/halt", json={"reason": "drill", "flatten": False}, headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["halted"] and body["acks"] == {"node-a": True} and body["by"].startswith("api@")
        assert client.get("/api/cluster/halt").json()["reason"] == "drill"
        assert client.get("/api/status").json()["halt"]["reason"] == "drill"
        assert client.post("/api/cluster/resume", headers=auth).json()["halted"] is False
        assert client.post("/api/cluster/resume", headers=auth).status_code == 409
