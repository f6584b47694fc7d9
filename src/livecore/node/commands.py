"""Schedule commands: verify, dispatch to one handler each, acknowledge.

Handlers see the node only through ``NodeControl`` (a handful of public
operations), never its fields. The order of checks matters:

1. undecodable -> dead letter;
2. addressed to another node -> ignored (counted; every node reads the topic);
3. unsigned / forged / expired / from the future / replayed -> refused, written
   to the audit log, and answered with a refusal ack (``ok=False``, detail
   ``refused: <reason>: ...``) so the sender learns why at once instead of
   waiting out its timeout. The refusal ack is written only if no ack exists
   for that nonce (SET NX): a replayed or forged copy of a genuine command can
   never overwrite the genuine command's ack;
4. unknown command -> warned, dead-lettered and acknowledged ``ok=False``;
5. otherwise the handler runs; its outcome is written as a ``CommandAck``.

Every handler is idempotent: repeating a command leaves the node as the first
one did (loading a loaded portfolio at its epoch, unloading an absent one,
pausing a paused node are no-ops that succeed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from livecore.node.deadletter import DeadLetters
from livecore.ports.bus import Record
from livecore.ports.coordination import Coordination
from livecore.ports.store import AuditLog
from livecore.refusals import refusal_detail
from livecore.wire import codec, names
from livecore.wire.messages import CommandAck, ScheduleCommand
from livecore.wire.signing import CommandRejected, CommandVerifier

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    """A verified command that could not be carried out; acknowledged ``ok=False``."""


class NodeControl(Protocol):
    """The operations commands may perform on a node; each returns a detail line."""

    def load_portfolio(self, portfolio_id: str, epoch: int, spec_toml: str | None = None) -> str: ...
    def unload_portfolio(self, portfolio_id: str) -> str: ...
    def reload_portfolio(self, portfolio_id: str) -> str: ...
    def migrate_portfolio(self, portfolio_id: str, to_node: str) -> str: ...
    def pause(self) -> str: ...
    def resume(self) -> str: ...
    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    detail: str
    after_ack: Callable[[], None] | None = None  # runs once the ack is written (shutdown)


Handler = Callable[[NodeControl, ScheduleCommand], Outcome]


def _portfolio(cmd: ScheduleCommand) -> str:
    if not cmd.portfolio_id:
        raise CommandFailed(f"{cmd.command} needs portfolio_id")
    return cmd.portfolio_id


def _param(cmd: ScheduleCommand, name: str, kind: type) -> Any:
    value = cmd.params.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CommandFailed(f"{cmd.command}: param {name!r} must be {kind.__name__}, got {value!r}")
    return value


def handle_load(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    epoch = _param(cmd, "epoch", int)
    if epoch < 0:
        raise CommandFailed(f"portfolio.load: epoch must be >= 0, got {epoch}")
    spec_toml = cmd.params.get("spec_toml")
    if spec_toml is not None and not isinstance(spec_toml, str):
        raise CommandFailed("portfolio.load: param 'spec_toml' must be a string")
    return Outcome(node.load_portfolio(_portfolio(cmd), epoch, spec_toml))


def handle_unload(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    return Outcome(node.unload_portfolio(_portfolio(cmd)))


def handle_reload(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    return Outcome(node.reload_portfolio(_portfolio(cmd)))


def handle_migrate(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    return Outcome(node.migrate_portfolio(_portfolio(cmd), _param(cmd, "to", str)))


def handle_shutdown(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    return Outcome("shutting down", after_ack=node.stop)


def handle_pause(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    return Outcome(node.pause())


def handle_resume(node: NodeControl, cmd: ScheduleCommand) -> Outcome:
    return Outcome(node.resume())


HANDLERS: dict[str, Handler] = {
    "portfolio.load": handle_load,
    "portfolio.unload": handle_unload,
    "portfolio.reload": handle_reload,
    "portfolio.migrate": handle_migrate,
    "node.shutdown": handle_shutdown,
    "node.pause": handle_pause,
    "node.resume": handle_resume,
}


class CommandDispatcher:
    """Runs on the schedule-updates thread; one command at a time."""

    def __init__(
        self,
        node_id: str,
        control: NodeControl,
        verifier: CommandVerifier,
        coord: Coordination,
        audit: AuditLog,
        dead_letters: DeadLetters,
        ack_ttl_s: float,
    ) -> None:
        self._node_id = node_id
        self._control = control
        self._verifier = verifier
        self._coord = coord
        self._audit = audit
        self._dead_letters = dead_letters
        self._ack_ttl = ack_ttl_s
        self.handled = 0
        self.failed = 0
        self.refused = 0
        self.misaddressed = 0
        self.unknown = 0

    def handle(self, record: Record) -> None:
        try:
            cmd = codec.schedule_commands.decode(record.value)
        except codec.MalformedMessage as exc:
            self._dead_letters.send(record, exc.reason)
            return
        if cmd.target_node != self._node_id:
            self.misaddressed += 1
            return
        try:
            self._verifier.verify(cmd)
        except CommandRejected as exc:
            self._refuse(cmd, exc)
            return
        handler = HANDLERS.get(cmd.command)
        if handler is None:
            self.unknown += 1
            log.warning("unknown command %r (nonce %s): dead-lettered", cmd.command, cmd.nonce)
            self._dead_letters.send(record, f"unknown command {cmd.command!r}")
            self._ack(cmd, False, f"unknown command {cmd.command!r}")
            return
        self.execute(cmd, handler)

    def execute(self, cmd: ScheduleCommand, handler: Handler) -> None:
        log.info("command %s %s (nonce %s)", cmd.command, cmd.portfolio_id or "", cmd.nonce)
        outcome: Outcome | None = None
        try:
            outcome = handler(self._control, cmd)
            ok, detail = True, outcome.detail
            self.handled += 1
        except CommandFailed as exc:
            ok, detail = False, str(exc)
            self.failed += 1
            log.warning("command %s %s failed: %s", cmd.command, cmd.portfolio_id or "", detail)
        except Exception as exc:
            ok, detail = False, f"internal error: {type(exc).__name__}: {exc}"
            self.failed += 1
            log.exception("command %s %s raised", cmd.command, cmd.portfolio_id or "")
        self._ack(cmd, ok, detail)
        if outcome is not None and outcome.after_ack is not None:
            outcome.after_ack()

    def _ack(self, cmd: ScheduleCommand, ok: bool, detail: str, only_if_absent: bool = False) -> None:
        """Write the ack; ``only_if_absent`` for refusals, so an existing ack is never replaced."""
        ack = CommandAck(
            nonce=cmd.nonce,
            node_id=self._node_id,
            command=cmd.command,
            portfolio_id=cmd.portfolio_id,
            ok=ok,
            detail=detail,
            ts_ns=time.time_ns(),
        )
        key, value = names.command_ack_key(cmd.nonce), codec.encode(ack).decode()
        try:
            if only_if_absent:
                self._coord.claim(key, value, self._ack_ttl)
            else:
                self._coord.set(key, value, ttl=self._ack_ttl)
        except Exception:
            log.exception("cannot write the ack of %s (nonce %s)", cmd.command, cmd.nonce)

    def _refuse(self, cmd: ScheduleCommand, exc: CommandRejected) -> None:
        self.refused += 1
        log.warning("refused command %s (nonce %s): %s", cmd.command, cmd.nonce, exc)
        detail = {
            "node_id": self._node_id,
            "reason": exc.reason,
            "detail": exc.detail,
            "command": cmd.command,
            "portfolio_id": cmd.portfolio_id,
            "nonce": cmd.nonce,
        }
        try:
            self._audit.record("node", "command_refused", detail, time.time_ns())
        except Exception:
            log.exception("cannot audit the refused command %s", cmd.nonce)
        self._ack(cmd, False, refusal_detail(exc), only_if_absent=True)
