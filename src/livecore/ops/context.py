"""The ports an operator action works with, and how to open them from settings."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import msgspec

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.checks import positive
from livecore.config import ACK_TIMEOUT_S, DeploymentSettings
from livecore.control.commands import CommandChannel
from livecore.errors import ConfigError, LivecoreError
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.refusals import refusal_reason
from livecore.wire import names
from livecore.wire.messages import CommandAck
from livecore.wire.signing import CommandSigner


class OpsError(LivecoreError):
    """An operator action cannot be done as asked (unknown id, wrong state, ...)."""


# What the operator can do about each verification refusal (the node's reasons).
REFUSAL_HINTS = {
    "forged": "bad signature: this command was signed with another secret than the node's "
    "(check --secret / LIVECORE_SECRET)",
    "unsigned": "the command carried no signature (pass --secret or set LIVECORE_SECRET)",
    "expired": "the command was too old when the node read it (clocks differ, or the node lags on the bus)",
    "from_future": "the command was issued ahead of the node's clock (synchronise the clocks)",
    "replayed": "the node had already seen this command's nonce",
}


class CommandRefused(OpsError):
    """The node refused the command before running it (failed verification):
    ``reason`` is ``forged``, ``unsigned``, ``expired``, ``from_future`` or ``replayed``."""

    def __init__(self, ack: CommandAck, target: str, reason: str) -> None:
        what = f"{ack.command} {ack.portfolio_id}" if ack.portfolio_id else ack.command
        hint = REFUSAL_HINTS.get(reason, reason)
        super().__init__(f"node {target} refused {what}: {hint}; the node said: {ack.detail}")
        self.reason = reason
        self.node_id = target
        self.detail = ack.detail


@dataclass(frozen=True, slots=True)
class OpsConfig:
    """``ack_timeout``: how long a command waits for its node's ack;
    ``migrate_timeout``: how long ``migrate`` waits for the leader's result."""

    ack_timeout: float = ACK_TIMEOUT_S
    migrate_timeout: float = 60.0
    lease_name: str = names.SCHEDULER_LEADER_LEASE

    def __post_init__(self) -> None:
        positive(self, "ack_timeout", "migrate_timeout")


@dataclass(frozen=True, slots=True)
class Ops:
    """``channel`` is None when the action needs no bus (status, list, deploy)."""

    coord: Coordination
    store: Store
    channel: CommandChannel | None = None
    config: OpsConfig = field(default_factory=OpsConfig)
    wall_ns: Callable[[], int] = time.time_ns

    def commands(self) -> CommandChannel:
        if self.channel is None:
            raise ConfigError("this action sends commands: open the operator ports with the bus")
        return self.channel


class CommandOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A node's answer to one command."""

    node_id: str
    command: str
    portfolio_id: str | None = None
    ok: bool
    detail: str
    nonce: str


def outcome(ack: CommandAck, target: str) -> CommandOutcome:
    """The node's answer; ``CommandRefused`` if it refused the command unverified
    (the action was not attempted, so there is no outcome to report)."""
    reason = refusal_reason(ack)
    if reason is not None:
        raise CommandRefused(ack, target, reason)
    return CommandOutcome(
        node_id=target,
        command=ack.command,
        portfolio_id=ack.portfolio_id,
        ok=ack.ok,
        detail=ack.detail,
        nonce=ack.nonce,
    )


@contextlib.contextmanager
def open_ops(settings: DeploymentSettings, with_bus: bool, config: OpsConfig | None = None) -> Iterator[Ops]:
    """Open coordination, store and (if asked) a producer on the bus; close them after."""
    with contextlib.ExitStack() as stack:
        coord = open_coordination(settings.coord_url)
        stack.callback(coord.close)
        store = open_store(settings.db_url)
        stack.callback(store.close)
        channel = None
        if with_bus:
            bus = open_bus(settings.bus_url)
            stack.callback(bus.close)
            producer = bus.producer()
            stack.callback(producer.close)
            channel = CommandChannel(
                producer, coord, CommandSigner(settings.secret), names.Topics(settings.topic_prefix)
            )
        yield Ops(coord, store, channel, config or OpsConfig())
