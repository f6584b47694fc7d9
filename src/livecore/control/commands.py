"""The command contract: every command name, and the channel that sends one and
waits for its acknowledgement.

``Command`` is the one spelling of the command names: the scheduler and the
operator actions send them, and the node's handler table is keyed by them. A
command is signed with the shared secret, published on ``schedule.updates``
keyed by its target node (so one node's commands keep their order), and the
node answers with a ``CommandAck`` at ``names.command_ack_key(nonce)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from livecore.errors import LivecoreError
from livecore.ports.bus import BusError, Delivery, Producer
from livecore.ports.coordination import Coordination
from livecore.wire import codec, names
from livecore.wire.messages import CommandAck, ScheduleCommand
from livecore.wire.signing import CommandSigner


class Command(StrEnum):
    """Every command a node carries out (the seed's three, the operations' four, the
    cluster kill switch's two and a planned migration's ``portfolio.prepare``)."""

    LOAD = "portfolio.load"
    UNLOAD = "portfolio.unload"
    RELOAD = "portfolio.reload"
    MIGRATE = "portfolio.migrate"
    PREPARE = "portfolio.prepare"
    NODE_SHUTDOWN = "node.shutdown"
    NODE_PAUSE = "node.pause"
    NODE_RESUME = "node.resume"
    CLUSTER_HALT = "cluster.halt"
    CLUSTER_RESUME = "cluster.resume"


DEFAULT_PUBLISH_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A command to sign and send (``CommandChannel.send_many``)."""

    command: str
    target_node: str
    portfolio_id: str | None = None
    params: dict[str, Any] | None = None


class AckTimeout(LivecoreError):
    """The node did not answer a command in time (it may still carry it out)."""


class CommandChannel:
    """Sends signed commands and reads their acks. Thread-safe as far as its producer and coordination store are."""

    def __init__(
        self,
        producer: Producer,
        coord: Coordination,
        signer: CommandSigner,
        topics: names.Topics,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = producer
        self._coord = coord
        self._signer = signer
        self._topic = topics.schedule_updates
        self._publish_timeout = publish_timeout
        self._clock = clock

    def send(
        self,
        command: str,
        target_node: str,
        portfolio_id: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        meanwhile: Callable[[], object] | None = None,
        nonce: str | None = None,
    ) -> ScheduleCommand:
        """Sign and publish; returns once the bus has it (raises ``BusError`` if not).
        ``meanwhile`` runs while the broker takes the command (work that need not
        precede it: its time then overlaps the broker's); its exception propagates.
        ``nonce``: one chosen before (``signing.new_nonce``), else a fresh one."""
        signed = self._signer.build(command, target_node, portfolio_id, params, nonce)
        if meanwhile is None:
            self._producer.publish_sync(self._topic, target_node, codec.encode(signed), self._publish_timeout)
            return signed
        outcome: list[Delivery] = []
        self._producer.publish(self._topic, target_node, codec.encode(signed), outcome.append)
        meanwhile()
        self._producer.flush(self._publish_timeout)
        if not outcome or outcome[0].error is not None:
            error = outcome[0].error if outcome else f"no delivery report within {self._publish_timeout:g}s"
            raise BusError(f"{command} to {target_node} not delivered to {self._topic}: {error}")
        return signed

    def send_many(self, commands: Sequence[Outgoing]) -> list[ScheduleCommand]:
        """Sign and publish every command, then wait once for all deliveries (a pass
        that places many portfolios waits for the broker once, not per command).
        Raises ``BusError`` if any is not delivered; commands to one node keep their order."""
        signed = [self._signer.build(c.command, c.target_node, c.portfolio_id, c.params) for c in commands]
        outcomes: list[Delivery] = []
        for command in signed:
            self._producer.publish(self._topic, command.target_node, codec.encode(command), outcomes.append)
        if not signed:
            return signed
        self._producer.flush(self._publish_timeout)
        failed = [o.error for o in outcomes if o.error is not None]
        if len(outcomes) < len(signed) or failed:
            raise BusError(
                f"{len(signed) - len(outcomes) + len(failed)} of {len(signed)} commands not delivered to "
                f"{self._topic}: {failed[:1] or 'no delivery report'}"
            )
        return signed

    def ack(self, nonce: str) -> CommandAck | None:
        """The node's ack, if written yet. An unreadable ack counts as a refusal."""
        raw = self._coord.get(names.command_ack_key(nonce))
        return None if raw is None else _decode_ack(nonce, raw)

    def acks(self, nonces: Collection[str]) -> dict[str, CommandAck]:
        """The acks written yet of ``nonces``, by nonce, in one round trip."""
        keys = {names.command_ack_key(nonce): nonce for nonce in nonces}
        return {keys[key]: _decode_ack(keys[key], raw) for key, raw in self._coord.get_many(keys).items()}

    def wait_ack(
        self,
        nonce: str,
        timeout: float,
        poll: float = 0.01,
        stop: threading.Event | None = None,
    ) -> CommandAck | None:
        """Poll for the ack until ``timeout`` (or ``stop``); None if none came."""
        deadline = self._clock() + timeout
        waiter = stop or threading.Event()
        while True:
            found = self.ack(nonce)
            if found is not None:
                return found
            remaining = deadline - self._clock()
            if remaining <= 0 or waiter.wait(min(poll, remaining)):
                return None

    def request(
        self,
        command: str,
        target_node: str,
        portfolio_id: str | None = None,
        params: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> CommandAck:
        """Send and wait for the ack; ``AckTimeout`` names the command and node."""
        signed = self.send(command, target_node, portfolio_id, params)
        found = self.wait_ack(signed.nonce, timeout)
        if found is None:
            what = f"{command} {portfolio_id}" if portfolio_id else command
            raise AckTimeout(
                f"node {target_node} did not acknowledge {what} within {timeout:g}s "
                f"(it may be down, or still working; nonce {signed.nonce})"
            )
        return found


def _decode_ack(nonce: str, raw: str) -> CommandAck:
    """An unreadable ack counts as a refusal."""
    try:
        return codec.command_acks.decode(raw.encode())
    except codec.MalformedMessage as exc:
        return CommandAck(nonce=nonce, node_id="?", command="?", ok=False, detail=f"unreadable ack: {exc}")
