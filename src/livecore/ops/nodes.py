"""Node actions: shutdown, pause (stop emitting orders, keep applying fills and
marking prices), resume. Each waits for the node's ack."""

from __future__ import annotations

from livecore.control.commands import Command
from livecore.ops.context import CommandOutcome, Ops, OpsError, outcome
from livecore.wire import names


def _node_command(ops: Ops, node_id: str, command: str) -> CommandOutcome:
    if ops.coord.get(names.heartbeat_key(node_id)) is None:
        raise OpsError(f"node {node_id} is not alive (no heartbeat); see `livecore status`")
    ack = ops.commands().request(command, node_id, None, {}, ops.config.ack_timeout)
    return outcome(ack, node_id)


def node_shutdown(ops: Ops, node_id: str) -> CommandOutcome:
    """The node stops (persisting every portfolio); the scheduler fails its
    portfolios over once its heartbeat is gone."""
    return _node_command(ops, node_id, Command.NODE_SHUTDOWN)


def node_pause(ops: Ops, node_id: str) -> CommandOutcome:
    return _node_command(ops, node_id, Command.NODE_PAUSE)


def node_resume(ops: Ops, node_id: str) -> CommandOutcome:
    return _node_command(ops, node_id, Command.NODE_RESUME)
