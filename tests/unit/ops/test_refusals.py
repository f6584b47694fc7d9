"""A command the node refuses unverified reaches the operator as its reason, at
once (never as an ack timeout): through ``ops``, the CLI and the API.

The node here is the real ``CommandDispatcher`` fed from the embedded bus on a
thread, holding another secret than the operator's."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from livecore import ops
from livecore.adapters.factory import open_bus
from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.cli.app import app
from livecore.node.commands import CommandDispatcher
from livecore.node.deadletter import DeadLetters
from livecore.ops.context import CommandRefused, outcome
from livecore.ports.store import AuditEntry, AuditLog
from livecore.refusals import refusal_detail, refusal_reason
from livecore.wire import names
from livecore.wire.messages import CommandAck
from livecore.wire.signing import REJECTION_REASONS, CommandRejected, CommandSigner, CommandVerifier
from tests.unit.ops.helpers import World, world

# Long enough that a test passing by timeout is impossible: every wait below ends on an ack.
ACK_TIMEOUT = 60.0
TOKEN = "api-token"


class Audit(AuditLog):
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def record(self, component: str, event: str, detail: dict[str, Any], ts_ns: int) -> None:
        self.reasons.append(str(detail["reason"]))

    def recent(
        self,
        limit: int = 100,
        event: str | Collection[str] | None = None,
        before: int | None = None,
        portfolio_id: str | None = None,
    ) -> list[AuditEntry]:
        raise NotImplementedError


class Control:
    """Every action succeeds; records what ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _did(self, what: str) -> str:
        self.calls.append(what)
        return f"did {what}"

    def load_portfolio(self, portfolio_id: str, epoch: int, spec_toml: str | None = None) -> str:
        return self._did("load")

    def unload_portfolio(self, portfolio_id: str) -> str:
        return self._did("unload")

    def reload_portfolio(self, portfolio_id: str) -> str:
        return self._did("reload")

    def migrate_portfolio(self, portfolio_id: str, to_node: str) -> str:
        return self._did("migrate")

    def prepare_portfolio(self, portfolio_id: str, hold_s: float) -> str:
        return self._did("prepare")

    def pause(self) -> str:
        return self._did("pause")

    def resume(self) -> str:
        return self._did("resume")

    def stop(self) -> None:
        self.calls.append("stop")


@contextmanager
def node(w: World, node_id: str, secret: str) -> Iterator[tuple[Control, Audit]]:
    """A heartbeating node whose dispatcher verifies with ``secret``."""
    bus = open_bus(w.settings.bus_url)
    topics = names.Topics()
    consumer = bus.consumer(names.node_group_id(node_id), [topics.schedule_updates], "earliest")
    producer = bus.producer()
    control, audit = Control(), Audit()
    dispatcher = CommandDispatcher(
        node_id=node_id,
        control=control,
        verifier=CommandVerifier(secret),
        coord=w.ops.coord,
        audit=audit,
        dead_letters=DeadLetters(topics=topics, component=f"node:{node_id}", producer=lambda: producer),
        ack_ttl_s=300.0,
    )
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            for record in consumer.poll(100, 0.05):
                dispatcher.handle(record)

    w.ops.coord.set(names.heartbeat_key(node_id), datetime.now(UTC).isoformat(), 600)
    w.ops.coord.hset(names.metrics_key(node_id), {"state": "running"}, 600)
    thread = threading.Thread(target=run, name=f"dispatcher-{node_id}", daemon=True)
    thread.start()
    try:
        yield control, audit
    finally:
        stop.set()
        thread.join(5)
        consumer.close()
        producer.close()


def test_a_wrong_secret_is_reported_as_a_bad_signature(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=ACK_TIMEOUT) as w, node(w, "n1", "the-nodes-secret") as (control, audit):
        with pytest.raises(CommandRefused) as err:
            ops.node_pause(w.ops, "n1")
        assert err.value.reason == "forged" and err.value.node_id == "n1"
        assert "node n1 refused node.pause: bad signature" in str(err.value)
        assert "--secret" in str(err.value)
        assert control.calls == [] and audit.reasons == ["forged"]


def test_the_right_secret_still_runs_the_command(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=ACK_TIMEOUT) as w, node(w, "n1", w.settings.secret) as (control, _):
        result = ops.node_pause(w.ops, "n1")
        assert result.ok and result.detail == "did pause" and control.calls == ["pause"]


def test_the_cli_prints_the_reason_and_exits_2(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=ACK_TIMEOUT) as w, node(w, "n1", "the-nodes-secret"):
        s = w.settings
        base = ["--bus", s.bus_url, "--coord", s.coord_url, "--db", s.db_url, "--secret", s.secret]
        result = CliRunner().invoke(app, [*base, "node", "pause", "n1", "--timeout", str(ACK_TIMEOUT)])
        # CliRunner skips ``main``, which prints a LivecoreError as one line and exits 2.
        assert isinstance(result.exception, CommandRefused)
        assert "bad signature" in str(result.exception)


def test_the_api_answers_409_with_the_reason(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=ACK_TIMEOUT) as w, node(w, "n1", "the-nodes-secret"):
        client = TestClient(create_app(w.ops, ApiConfig(token=TOKEN)))
        response = client.post("/api/nodes/n1/pause", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 409
        body = response.json()
        assert body["error"] == "refused" and body["reason"] == "forged" and body["node_id"] == "n1"
        assert "bad signature" in body["message"]


@pytest.mark.parametrize("reason", REJECTION_REASONS)
def test_every_reason_the_verifier_gives_is_recognised_as_a_refusal(reason: str) -> None:
    ack = CommandAck(
        nonce="n",
        node_id="n1",
        command="node.pause",
        portfolio_id=None,
        ok=False,
        detail=refusal_detail(CommandRejected(reason, "why")),
        ts_ns=1,
    )
    assert refusal_reason(ack) == reason
    with pytest.raises(CommandRefused) as err:
        outcome(ack, "n1")
    assert err.value.reason == reason


def test_a_value_that_cannot_be_verified_reaches_the_operator_as_a_malformed_refusal() -> None:
    """The verifier's last guard answers ``malformed``; the operator side must call it a refusal."""
    cmd = CommandSigner("s").build("node.pause", "n1")
    bad = msgspec.structs.replace(cmd, issued_at_ns=None)  # type: ignore[arg-type]
    with pytest.raises(CommandRejected) as err:
        CommandVerifier("s").verify(msgspec.structs.replace(bad, signature=CommandSigner("s").sign(bad).signature))
    assert err.value.reason == "malformed"
    ack = CommandAck(
        nonce=cmd.nonce,
        node_id="n1",
        command="node.pause",
        portfolio_id=None,
        ok=False,
        detail=refusal_detail(err.value),
        ts_ns=1,
    )
    assert refusal_reason(ack) == err.value.reason
