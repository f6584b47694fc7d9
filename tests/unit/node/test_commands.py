from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest
import redis.exceptions

from livecore.adapters.memory_bus import MemoryBus
from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.node.commands import Admitted, CommandDispatcher, CommandFailed, ExpectedLoad
from livecore.node.deadletter import DeadLetters
from livecore.ports.bus import Record
from livecore.ports.coordination import CoordinationError
from livecore.ports.store import AuditEntry, AuditLog
from livecore.refusals import refusal_reason
from livecore.wire import codec, names
from livecore.wire.messages import ScheduleCommand
from livecore.wire.names import Topics
from livecore.wire.signing import CommandSigner, CommandVerifier

SECRET = "s3cret"


class Audit(AuditLog):
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, Any]]] = []

    def record(self, component: str, event: str, detail: dict[str, Any], ts_ns: int) -> None:
        self.entries.append((component, event, detail))

    def recent(
        self,
        limit: int = 100,
        event: str | Collection[str] | None = None,
        before: int | None = None,
        portfolio_id: str | None = None,
    ) -> list[AuditEntry]:
        raise NotImplementedError


class Control:
    """Records calls; ``fail`` makes the next call raise CommandFailed."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail: str | None = None
        self.outage = 0  # the next calls that meet a coordination outage

    def _call(self, *args: Any) -> str:
        self.calls.append(args)
        if self.outage > 0:
            self.outage -= 1
            raise CoordinationError("redis get_fence failed") from redis.exceptions.ConnectionError("refused")
        if self.fail:
            raise CommandFailed(self.fail)
        return f"did {args[0]}"

    def load_portfolio(self, portfolio_id: str, epoch: int, spec_toml: str | None = None) -> str:
        return self._call("load", portfolio_id, epoch, spec_toml)

    def unload_portfolio(self, portfolio_id: str) -> str:
        return self._call("unload", portfolio_id)

    def reload_portfolio(self, portfolio_id: str) -> str:
        return self._call("reload", portfolio_id)

    def migrate_portfolio(self, portfolio_id: str, to_node: str) -> str:
        return self._call("migrate", portfolio_id, to_node)

    def prepare_portfolio(self, portfolio_id: str, hold_s: float, load: ExpectedLoad | None = None) -> str:
        return (
            self._call("prepare", portfolio_id, hold_s)
            if load is None
            else self._call("prepare", portfolio_id, hold_s, load)
        )

    def pause(self) -> str:
        return self._call("pause")

    def resume(self) -> str:
        return self._call("resume")

    def stop(self) -> None:
        self.calls.append(("stop",))


class FlakyCoordination(MemoryCoordination):
    """Fails its next ``fail_sets`` writes as the Redis adapter does when Redis is down."""

    fail_sets = 0

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        if self.fail_sets > 0:
            self.fail_sets -= 1
            raise CoordinationError("redis set failed") from redis.exceptions.ConnectionError("refused")
        super().set(key, value, ttl)


class Rig:
    def __init__(self) -> None:
        self.bus = MemoryBus("memory://commands-test")
        self.coord = FlakyCoordination()
        self.audit = Audit()
        self.control = Control()
        self.topics = Topics()
        self.producer = self.bus.producer()
        self.dead = DeadLetters(topics=self.topics, component="node:n1", producer=lambda: self.producer)
        self.dlq = self.bus.consumer("t", [self.topics.dlq(self.topics.schedule_updates)], "earliest")
        self.dispatcher = CommandDispatcher(
            node_id="n1",
            control=self.control,
            verifier=CommandVerifier(SECRET),
            coord=self.coord,
            audit=self.audit,
            dead_letters=self.dead,
            ack_ttl_s=300.0,
        )
        self.signer = CommandSigner(SECRET)
        self.offset = 0

    def send(self, cmd: ScheduleCommand | bytes) -> None:
        payload = cmd if isinstance(cmd, bytes) else codec.encode(cmd)
        self.offset += 1
        self.dispatcher.handle(Record(self.topics.schedule_updates, 0, self.offset, None, payload, 0))

    def admit(self, cmd: ScheduleCommand) -> Admitted | None:
        self.offset += 1
        return self.dispatcher.admit(Record(self.topics.schedule_updates, 0, self.offset, None, codec.encode(cmd), 0))

    def ack(self, cmd: ScheduleCommand) -> Any:
        raw = self.coord.get_with_ttl(names.command_ack_key(cmd.nonce))
        if raw is None:
            return None
        value, ttl = raw
        assert ttl is not None and 0 < ttl <= 300
        return codec.command_acks.decode(value.encode())

    def dead_letters(self) -> list[Any]:
        return [codec.dead_letters.decode(r.value) for r in self.dlq.poll(100, 0.1)]


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.mark.parametrize(
    ("command", "pid", "params", "call"),
    [
        ("portfolio.load", "p1", {"epoch": 3}, ("load", "p1", 3, None)),
        ("portfolio.load", "p1", {"epoch": 3, "spec_toml": "x"}, ("load", "p1", 3, "x")),
        ("portfolio.unload", "p1", {}, ("unload", "p1")),
        ("portfolio.reload", "p1", {}, ("reload", "p1")),
        ("portfolio.migrate", "p1", {"to": "n2"}, ("migrate", "p1", "n2")),
        ("portfolio.prepare", "p1", {"hold_s": 20}, ("prepare", "p1", 20.0)),
        ("portfolio.prepare", "p1", {"hold_s": 0.5}, ("prepare", "p1", 0.5)),
        ("portfolio.prepare", "p1", {"hold_s": 0}, ("prepare", "p1", 0.0)),
        (
            "portfolio.prepare",
            "p1",
            {"hold_s": 20, "epoch": 4, "load_nonce": "ab12"},
            ("prepare", "p1", 20.0, ExpectedLoad(4, "ab12")),
        ),
        ("node.pause", None, {}, ("pause",)),
        ("node.resume", None, {}, ("resume",)),
    ],
)
def test_each_command_reaches_its_handler_and_is_acked(
    rig: Rig, command: str, pid: str | None, params: dict[str, Any], call: tuple[Any, ...]
) -> None:
    cmd = rig.signer.build(command, "n1", pid, params)
    rig.send(cmd)
    assert rig.control.calls == [call]
    ack = rig.ack(cmd)
    assert ack.ok and ack.node_id == "n1" and ack.command == command and ack.detail.startswith("did")


def test_shutdown_acks_before_stopping(rig: Rig) -> None:
    cmd = rig.signer.build("node.shutdown", "n1")
    acked_before_stop: list[bool] = []
    rig.control.stop = lambda: acked_before_stop.append(rig.ack(cmd) is not None)  # type: ignore[method-assign]
    rig.send(cmd)
    assert acked_before_stop == [True]


def test_other_nodes_commands_are_ignored(rig: Rig) -> None:
    cmd = CommandSigner("wrong").build("portfolio.unload", "n2", "p1")  # not even verified: not ours
    rig.send(cmd)
    assert rig.control.calls == [] and rig.ack(cmd) is None
    assert rig.dispatcher.misaddressed == 1
    assert rig.audit.entries == []


@pytest.mark.parametrize("attack", ["unsigned", "forged", "expired"])
def test_refused_commands_are_audited_and_not_run(rig: Rig, attack: str) -> None:
    cmd = rig.signer.build("portfolio.unload", "n1", "p1")
    if attack == "unsigned":
        cmd = ScheduleCommand(**{**_fields(cmd), "signature": ""})
    elif attack == "forged":
        cmd = CommandSigner("wrong").sign(cmd)
    else:
        cmd = CommandSigner(SECRET, clock=lambda: 1).build("portfolio.unload", "n1", "p1")
    rig.send(cmd)
    assert rig.control.calls == []
    assert rig.dispatcher.refused == 1
    component, event, detail = rig.audit.entries[-1]
    assert (component, event, detail["reason"], detail["nonce"]) == ("node", "command_refused", attack, cmd.nonce)
    ack = rig.ack(cmd)  # the sender learns why at once
    assert not ack.ok and ack.node_id == "n1" and ack.command == "portfolio.unload"
    assert ack.detail.startswith(f"refused: {attack}: ") and refusal_reason(ack) == attack


def test_a_command_seen_again_is_audited_not_run_and_never_refused(rig: Rig) -> None:
    cmd = rig.signer.build("portfolio.unload", "n1", "p1")
    rig.send(cmd)
    genuine = rig.ack(cmd)
    rig.coord.delete(names.command_ack_key(cmd.nonce))  # the first answer was lost
    rig.send(cmd)
    assert rig.control.calls == [("unload", "p1")]
    assert rig.dispatcher.refused == 0 and rig.dispatcher.replayed == 1
    component, event, detail = rig.audit.entries[-1]
    assert (component, event, detail["nonce"]) == ("node", "command_replayed", cmd.nonce)
    assert rig.ack(cmd) == genuine and refusal_reason(genuine) is None


def test_a_copy_never_overwrites_the_genuine_ack(rig: Rig) -> None:
    cmd = rig.signer.build("portfolio.unload", "n1", "p1")
    rig.send(cmd)
    rig.send(cmd)
    ack = rig.ack(cmd)
    assert ack.ok and ack.detail.startswith("did") and refusal_reason(ack) is None


def test_a_handler_meeting_an_outage_raises_and_runs_again_when_retried(rig: Rig) -> None:
    cmd = rig.signer.build("portfolio.unload", "n1", "p1")
    admitted = rig.admit(cmd)
    assert admitted is not None
    rig.control.outage = 2
    for _ in range(2):
        with pytest.raises(CoordinationError):
            rig.dispatcher.execute(admitted)
        assert rig.ack(cmd) is None  # nothing said while it may still run
    rig.dispatcher.execute(admitted)  # what the loop's guard does: the handler again, not the verification
    assert rig.ack(cmd).ok and rig.control.calls == [("unload", "p1")] * 3 and rig.dispatcher.refused == 0


def test_an_ack_write_that_fails_is_retried_without_running_the_handler_again(rig: Rig) -> None:
    cmd = rig.signer.build("node.shutdown", "n1")
    admitted = rig.admit(cmd)
    assert admitted is not None
    rig.coord.fail_sets = 1
    with pytest.raises(CoordinationError):
        rig.dispatcher.execute(admitted)
    assert rig.control.calls == []  # shutdown waits for its ack
    rig.dispatcher.execute(admitted)
    assert rig.ack(cmd).ok and rig.control.calls == [("stop",)] and rig.dispatcher.handled == 1


def test_a_command_given_up_is_answered_as_an_internal_error_not_a_refusal(rig: Rig) -> None:
    cmd = rig.signer.build("portfolio.unload", "n1", "p1")
    admitted = rig.admit(cmd)
    assert admitted is not None
    rig.dispatcher.abandon(admitted, "transient: CoordinationError: down (after 5 tries)")
    ack = rig.ack(cmd)
    assert not ack.ok and ack.detail.startswith("internal error: transient") and refusal_reason(ack) is None


def test_a_forged_copy_cannot_overwrite_a_genuine_ack(rig: Rig) -> None:
    genuine = rig.signer.build("portfolio.unload", "n1", "p1")
    rig.send(genuine)
    forged = ScheduleCommand(**{**_fields(genuine), "command": "node.pause", "signature": "00" * 32})
    rig.send(forged)
    ack = rig.ack(genuine)
    assert ack.ok and ack.command == "portfolio.unload" and rig.dispatcher.refused == 1


def test_a_genuine_command_replaces_an_earlier_forged_refusal(rig: Rig) -> None:
    """A forger who saw the nonce first cannot make the genuine command's answer a refusal."""
    genuine = rig.signer.build("portfolio.unload", "n1", "p1")
    rig.send(CommandSigner("wrong").sign(genuine))
    assert refusal_reason(rig.ack(genuine)) == "forged"
    rig.send(genuine)
    assert rig.ack(genuine).ok and rig.control.calls == [("unload", "p1")]


def test_a_refusal_ack_needs_the_exact_reason_prefix(rig: Rig) -> None:
    rig.control.fail = "refused: not a verification reason"
    cmd = rig.signer.build("node.pause", "n1")
    rig.send(cmd)
    ack = rig.ack(cmd)
    assert not ack.ok and refusal_reason(ack) is None


def test_a_command_from_the_future_is_refused_with_its_reason(rig: Rig) -> None:
    cmd = CommandSigner(SECRET, clock=lambda: 2**62).build("node.pause", "n1")
    rig.send(cmd)
    assert refusal_reason(rig.ack(cmd)) == "from_future" and rig.control.calls == []


def test_unknown_command_is_dead_lettered_and_nacked(rig: Rig) -> None:
    cmd = rig.signer.build("node.dance", "n1")
    rig.send(cmd)
    ack = rig.ack(cmd)
    assert ack is not None and not ack.ok and "unknown" in ack.detail
    letters = rig.dead_letters()
    assert len(letters) == 1 and "node.dance" in letters[0].reason
    assert rig.dispatcher.unknown == 1


def test_malformed_command_is_dead_lettered(rig: Rig) -> None:
    rig.send(b'{"command": 1}')
    letters = rig.dead_letters()
    assert len(letters) == 1 and letters[0].payload == b'{"command": 1}' and letters[0].component == "node:n1"
    assert rig.control.calls == []


@pytest.mark.parametrize(
    ("command", "pid", "params"),
    [
        ("portfolio.load", "p1", {}),
        ("portfolio.load", "p1", {"epoch": "3"}),
        ("portfolio.load", "p1", {"epoch": True}),
        ("portfolio.load", "p1", {"epoch": -1}),
        ("portfolio.load", None, {"epoch": 1}),
        ("portfolio.migrate", "p1", {}),
        ("portfolio.prepare", "p1", {}),
        ("portfolio.prepare", "p1", {"hold_s": "20"}),
        ("portfolio.prepare", "p1", {"hold_s": True}),
        ("portfolio.prepare", "p1", {"hold_s": -1}),
        ("portfolio.prepare", None, {"hold_s": 20}),
        ("portfolio.prepare", "p1", {"hold_s": 20, "epoch": 4}),
        ("portfolio.prepare", "p1", {"hold_s": 20, "load_nonce": "ab12"}),
        ("portfolio.prepare", "p1", {"hold_s": 20, "epoch": -1, "load_nonce": "ab12"}),
        ("portfolio.prepare", "p1", {"hold_s": 20, "epoch": "4", "load_nonce": "ab12"}),
        ("portfolio.prepare", "p1", {"hold_s": 20, "epoch": 4, "load_nonce": ""}),
        ("portfolio.prepare", "p1", {"hold_s": 20, "epoch": 4, "load_nonce": "x" * 65}),
        ("portfolio.unload", None, {}),
    ],
)
def test_bad_params_are_nacked(rig: Rig, command: str, pid: str | None, params: dict[str, Any]) -> None:
    cmd = rig.signer.build(command, "n1", pid, params)
    rig.send(cmd)
    ack = rig.ack(cmd)
    assert ack is not None and not ack.ok
    assert rig.control.calls == []


def test_handler_failures_are_nacked_with_the_reason(rig: Rig) -> None:
    rig.control.fail = "node n1 is at capacity (1)"
    cmd = rig.signer.build("portfolio.load", "n1", "p1", {"epoch": 1})
    rig.send(cmd)
    ack = rig.ack(cmd)
    assert not ack.ok and ack.detail == "node n1 is at capacity (1)"


def _fields(cmd: ScheduleCommand) -> dict[str, Any]:
    return {f: getattr(cmd, f) for f in cmd.__struct_fields__}


def test_a_load_answered_early_is_acked_at_once_and_not_run_when_it_arrives(rig: Rig) -> None:
    """A prepared load its fence started (``node/fencewatch.py``): the leader sees the
    ack under the nonce it announced before the command crosses the bus; the
    command, when it arrives, is answered with that ack and its handler does not run."""
    cmd = rig.signer.build("portfolio.load", "n1", "p1", {"epoch": 4}, nonce="announced-nonce")
    rig.dispatcher.answer_early(cmd.nonce, "portfolio.load", "p1", "p1 loaded at epoch 4 (1 symbols, prepared)")
    early = rig.ack(cmd)
    assert early.ok and early.command == "portfolio.load" and early.portfolio_id == "p1"
    assert early.detail == "p1 loaded at epoch 4 (1 symbols, prepared)" and rig.dispatcher.handled == 1
    rig.coord.delete(names.command_ack_key(cmd.nonce))  # the command's arrival writes it again
    rig.send(cmd)
    assert rig.control.calls == []
    assert rig.ack(cmd) == early and rig.dispatcher.handled == 1
