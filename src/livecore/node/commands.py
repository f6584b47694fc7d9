"""Schedule commands: verify, dispatch to one handler each, acknowledge.

Handlers see the node only through ``NodeControl`` (a handful of public
operations), never its fields. The order of checks matters:

1. undecodable -> dead letter;
2. addressed to another node -> ignored (counted; every node reads the topic);
3. unsigned / forged / expired / from the future / malformed -> refused,
   written to the audit log, and answered with a refusal ack (``ok=False``,
   detail ``refused: <reason>: ...``) so the sender learns why at once instead
   of waiting out its timeout. The refusal ack is written only if no ack
   exists for that nonce (SET NX): a forged copy of a genuine command can
   never overwrite the genuine command's ack;
4. a nonce this node already accepted (a bus redelivery, or a copy) is never
   refused: "refused" means "never run", and that command ran (or is running).
   It is audited and answered by writing the genuine ack again if this node
   still remembers it (SET NX), otherwise ignored;
5. unknown command -> warned, dead-lettered and acknowledged ``ok=False``;
6. otherwise the handler runs; its outcome is written as a ``CommandAck``.

Steps 1-5 (``admit``) run once per record. Only step 6 (``execute``) may be
retried by the schedule loop's ``RecordGuard``: a handler that meets a backend
that does not answer raises out of ``execute`` and is run again, and an ack
that cannot be written is written again without re-running the handler. A
command given up after its retries is acknowledged ``ok=False`` with
``internal error: ...`` (it may have run part-way; it is never called
"refused").

Every handler is idempotent: repeating a command leaves the node as the first
one did (loading a loaded portfolio at its epoch, unloading an absent one,
pausing a paused node are no-ops that succeed).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from livecore.control.commands import Command
from livecore.control.events import AuditEvent
from livecore.node.deadletter import DeadLetters
from livecore.ports.bus import Record
from livecore.ports.coordination import Coordination
from livecore.ports.store import AuditLog
from livecore.refusals import refusal_detail
from livecore.wire import codec, names
from livecore.wire.messages import CommandAck, ScheduleCommand
from livecore.wire.signing import REPLAYED, CommandRejected, CommandVerifier

log = logging.getLogger(__name__)

# acks remembered for redeliveries; the verifier refuses older commands as expired anyway
_REMEMBERED_ACKS = 4096
# the longest nonce a prepare may announce for its load (the signer's are 24 characters)
MAX_NONCE_LENGTH = 64


class CommandFailed(Exception):
    """A verified command that could not be carried out; acknowledged ``ok=False``."""


@dataclass(frozen=True, slots=True)
class ExpectedLoad:
    """The load a planned migration's leader will send its prepared target: the
    epoch it will grant and the nonce of its ``portfolio.load`` (``node/fencewatch.py``)."""

    epoch: int
    nonce: str


class NodeControl(Protocol):
    """The operations commands may perform on a node; each returns a detail line."""

    def load_portfolio(self, portfolio_id: str, epoch: int, spec_toml: str | None = None) -> str: ...
    def unload_portfolio(self, portfolio_id: str) -> str: ...
    def reload_portfolio(self, portfolio_id: str) -> str: ...
    def migrate_portfolio(self, portfolio_id: str, to_node: str) -> str: ...
    def prepare_portfolio(self, portfolio_id: str, hold_s: float, load: ExpectedLoad | None = None) -> str: ...
    def pause(self) -> str: ...
    def resume(self) -> str: ...
    def sync_cluster_halt(self) -> str: ...
    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What a command handler did: the ack's detail line, and what must wait for the ack."""

    detail: str
    after_ack: Callable[[], None] | None = None  # runs once the ack is written (shutdown)


Handler = Callable[[NodeControl, ScheduleCommand], HandlerResult]


@dataclass(frozen=True, slots=True)
class Admitted:
    """A verified command and its handler, ready to execute (and, on a backend fault, to retry)."""

    cmd: ScheduleCommand
    handler: Handler


def _portfolio(cmd: ScheduleCommand) -> str:
    if not cmd.portfolio_id:
        raise CommandFailed(f"{cmd.command} needs portfolio_id")
    return cmd.portfolio_id


def _param(cmd: ScheduleCommand, name: str, kind: type) -> Any:
    value = cmd.params.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CommandFailed(f"{cmd.command}: param {name!r} must be {kind.__name__}, got {value!r}")
    return value


def handle_load(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    epoch = _param(cmd, "epoch", int)
    if epoch < 0:
        raise CommandFailed(f"{Command.LOAD}: epoch must be >= 0, got {epoch}")
    spec_toml = cmd.params.get("spec_toml")
    if spec_toml is not None and not isinstance(spec_toml, str):
        raise CommandFailed(f"{Command.LOAD}: param 'spec_toml' must be a string")
    return HandlerResult(node.load_portfolio(_portfolio(cmd), epoch, spec_toml))


def handle_unload(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    return HandlerResult(node.unload_portfolio(_portfolio(cmd)))


def handle_reload(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    return HandlerResult(node.reload_portfolio(_portfolio(cmd)))


def handle_migrate(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    return HandlerResult(node.migrate_portfolio(_portfolio(cmd), _param(cmd, "to", str)))


def handle_prepare(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    hold_s = cmd.params.get("hold_s")
    if not isinstance(hold_s, int | float) or isinstance(hold_s, bool) or not hold_s >= 0:
        raise CommandFailed(f"{Command.PREPARE}: param 'hold_s' must be a number >= 0, got {hold_s!r}")
    return HandlerResult(node.prepare_portfolio(_portfolio(cmd), float(hold_s), _expected_load(cmd)))


def _expected_load(cmd: ScheduleCommand) -> ExpectedLoad | None:
    """``epoch`` and ``load_nonce`` of a prepare, both or neither."""
    if "epoch" not in cmd.params and "load_nonce" not in cmd.params:
        return None
    epoch, nonce = _param(cmd, "epoch", int), _param(cmd, "load_nonce", str)
    if epoch < 0 or not 0 < len(nonce) <= MAX_NONCE_LENGTH:
        raise CommandFailed(f"{Command.PREPARE}: 'epoch' must be >= 0 and 'load_nonce' 1-{MAX_NONCE_LENGTH} characters")
    return ExpectedLoad(epoch, nonce)


def handle_shutdown(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    return HandlerResult("shutting down", after_ack=node.stop)


def handle_pause(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    return HandlerResult(node.pause())


def handle_resume(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    return HandlerResult(node.resume())


def handle_cluster_halt(node: NodeControl, cmd: ScheduleCommand) -> HandlerResult:
    """Halt and resume both make the node apply the state the operator wrote first
    (``control/halt.py``): the state, not the command, is the truth."""
    return HandlerResult(node.sync_cluster_halt())


HANDLERS: dict[str, Handler] = {
    Command.LOAD: handle_load,
    Command.UNLOAD: handle_unload,
    Command.RELOAD: handle_reload,
    Command.MIGRATE: handle_migrate,
    Command.PREPARE: handle_prepare,
    Command.NODE_SHUTDOWN: handle_shutdown,
    Command.NODE_PAUSE: handle_pause,
    Command.NODE_RESUME: handle_resume,
    Command.CLUSTER_HALT: handle_cluster_halt,
    Command.CLUSTER_RESUME: handle_cluster_halt,
}


class CommandDispatcher:
    """Runs on the schedule-updates thread; one command at a time."""

    def __init__(
        self,
        *,
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
        self._acks: OrderedDict[str, CommandAck] = OrderedDict()  # by nonce: the genuine answers
        self._after: dict[str, Callable[[], None]] = {}  # by nonce: run once its ack is written
        self.handled = 0
        self.failed = 0
        self.refused = 0
        self.replayed = 0
        self.misaddressed = 0
        self.unknown = 0

    def handle(self, record: Record) -> None:
        """``admit`` then ``execute`` (no retry: for callers without a guard)."""
        admitted = self.admit(record)
        if admitted is not None:
            self.execute(admitted)

    def admit(self, record: Record) -> Admitted | None:
        """Decode, check address and verify, once per record: the command to execute,
        or None when it was answered (refused, replayed, unknown) or dropped."""
        try:
            cmd = codec.schedule_commands.decode(record.value)
        except codec.MalformedMessage as exc:
            self._dead_letters.send(record, exc.reason)
            return None
        if cmd.target_node != self._node_id:
            self.misaddressed += 1
            return None
        try:
            self._verifier.verify(cmd)
        except CommandRejected as exc:
            if exc.reason == REPLAYED:
                self._answer_again(cmd)
            else:
                self._refuse(cmd, exc)
            return None
        handler = HANDLERS.get(cmd.command)
        if handler is None:
            self.unknown += 1
            log.warning("unknown command %r (nonce %s): dead-lettered", cmd.command, cmd.nonce)
            self._dead_letters.send(record, f"unknown command {cmd.command!r}")
            self._write(self._remember(cmd, False, f"unknown command {cmd.command!r}"), quiet=True)
            return None
        return Admitted(cmd, handler)

    def execute(self, admitted: Admitted) -> None:
        """Run the handler (unless it already ran) and write its ack. A handler failure
        other than ``CommandFailed``, or an ack that cannot be written, raises: the
        caller's guard tries again (the handler is idempotent; a written outcome is
        never recomputed)."""
        cmd = admitted.cmd
        ack = self._acks.get(cmd.nonce)
        if ack is None:
            ack = self._run(admitted)
        self._write(ack)
        after = self._after.pop(cmd.nonce, None)
        if after is not None:
            after()

    def abandon(self, admitted: Admitted, reason: str) -> None:
        """The guard gave the command up: answer ``ok=False`` (it may have run part-way)."""
        cmd = admitted.cmd
        self.failed += 1
        self._after.pop(cmd.nonce, None)
        self._write(self._remember(cmd, False, f"internal error: {reason}"), quiet=True)

    def _run(self, admitted: Admitted) -> CommandAck:
        cmd = admitted.cmd
        log.info("command %s %s (nonce %s)", cmd.command, cmd.portfolio_id or "", cmd.nonce)
        try:
            outcome = admitted.handler(self._control, cmd)
        except CommandFailed as exc:
            self.failed += 1
            log.warning("command %s %s failed: %s", cmd.command, cmd.portfolio_id or "", exc)
            return self._remember(cmd, False, str(exc))
        self.handled += 1
        if outcome.after_ack is not None:
            self._after[cmd.nonce] = outcome.after_ack
        return self._remember(cmd, True, outcome.detail)

    def answer_early(self, nonce: str, command: str, portfolio_id: str, detail: str) -> None:
        """Acknowledge (ok) a command this node carried out before it arrived (a prepared
        load its fence started, ``node/fencewatch.py``): the command, when it comes, is
        answered with this ack and its handler does not run. A failed write is logged;
        the command's arrival writes it again."""
        self.handled += 1
        self._write(self._keep(self._ack(nonce, command, portfolio_id, True, detail)), quiet=True)

    def _remember(self, cmd: ScheduleCommand, ok: bool, detail: str) -> CommandAck:
        return self._keep(self._ack(cmd.nonce, cmd.command, cmd.portfolio_id, ok, detail))

    def _ack(self, nonce: str, command: str, portfolio_id: str | None, ok: bool, detail: str) -> CommandAck:
        return CommandAck(
            nonce=nonce,
            node_id=self._node_id,
            command=command,
            portfolio_id=portfolio_id,
            ok=ok,
            detail=detail,
            ts_ns=time.time_ns(),
        )

    def _keep(self, ack: CommandAck) -> CommandAck:
        """Remember the genuine answer to ``ack.nonce`` (redeliveries get it again)."""
        self._acks[ack.nonce] = ack
        while len(self._acks) > _REMEMBERED_ACKS:
            self._acks.popitem(last=False)
        return ack

    def _write(self, ack: CommandAck, only_if_absent: bool = False, quiet: bool = False) -> None:
        """Write ``ack``; ``only_if_absent`` so an existing ack is never replaced; ``quiet``
        logs a failure instead of raising it."""
        key, value = names.command_ack_key(ack.nonce), codec.encode(ack).decode()
        try:
            if only_if_absent:
                self._coord.claim(key, value, self._ack_ttl)
            else:
                self._coord.set(key, value, ttl=self._ack_ttl)
        except Exception:
            if not quiet:
                raise
            log.exception("cannot write the ack of %s (nonce %s)", ack.command, ack.nonce)

    def _answer_again(self, cmd: ScheduleCommand) -> None:
        """A nonce this node accepted before: never refuse it, answer with the genuine ack."""
        self.replayed += 1
        ack = self._acks.get(cmd.nonce)
        log.warning(
            "command %s (nonce %s) seen again: %s", cmd.command, cmd.nonce, "answered again" if ack else "ignored"
        )
        self._audit_quietly(AuditEvent.COMMAND_REPLAYED, cmd, {"reason": REPLAYED, "answered": ack is not None})
        if ack is not None:
            self._write(ack, only_if_absent=True, quiet=True)

    def _refuse(self, cmd: ScheduleCommand, exc: CommandRejected) -> None:
        self.refused += 1
        log.warning("refused command %s (nonce %s): %s", cmd.command, cmd.nonce, exc)
        self._audit_quietly(AuditEvent.COMMAND_REFUSED, cmd, {"reason": exc.reason, "detail": exc.detail})
        refusal = self._ack(cmd.nonce, cmd.command, cmd.portfolio_id, False, refusal_detail(exc))
        self._write(refusal, only_if_absent=True, quiet=True)

    def _audit_quietly(self, event: str, cmd: ScheduleCommand, extra: dict[str, object]) -> None:
        detail = {
            "node_id": self._node_id,
            **extra,
            "command": cmd.command,
            "portfolio_id": cmd.portfolio_id,
            "nonce": cmd.nonce,
        }
        try:
            self._audit.record("node", event, detail, time.time_ns())
        except Exception:
            log.exception("cannot audit the %s command %s", event, cmd.nonce)
