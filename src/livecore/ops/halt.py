"""The cluster kill switch: halt every node at once, and resume.

``halt`` writes the halt state first (``control/halt.py``: it outlives every
process, and a node or gateway that missed the command reads it), audits it,
then sends the signed ``cluster.halt`` command to every live node and collects
their acks. Nodes stop opening positions (strategies may only reduce them;
with ``flatten`` they close every position with market orders instead), and
the gateway, which watches the state, cancels resting orders and refuses any
order that would open or grow a position. ``resume`` deletes the state, audits
it, and tells every node.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec

from livecore.control.cluster import Cluster, observe
from livecore.control.commands import Command
from livecore.control.events import AuditEvent
from livecore.control.halt import ClusterHalt, clear_halt, read_halt, write_halt
from livecore.ops.context import Ops, OpsError

AUDIT_HALT = AuditEvent.CLUSTER_HALT
AUDIT_RESUME = AuditEvent.CLUSTER_RESUME
NO_ANSWER = "no answer in time (the node applies the halt state at its next heartbeat)"


class NodeAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A node's answer to the broadcast (``ok`` None: no answer in time)."""

    ok: bool | None
    detail: str


class HaltReport(msgspec.Struct, frozen=True, kw_only=True):
    """The cluster's halt state and, per live node, whether it applied it."""

    halted: bool
    reason: str | None = None
    flatten: bool = False
    since: str | None = None
    by: str | None = None
    acks: dict[str, bool] = {}
    answers: dict[str, NodeAnswer] = {}


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _report(halt: ClusterHalt | None, acks: dict[str, bool], answers: dict[str, NodeAnswer]) -> HaltReport:
    if halt is None:
        return HaltReport(halted=False, acks=acks, answers=answers)
    return HaltReport(
        halted=True,
        reason=halt.reason,
        flatten=halt.flatten,
        since=_iso(halt.since_ns) if halt.since_ns else None,
        by=halt.by or None,
        acks=acks,
        answers=answers,
    )


def _broadcast(ops: Ops, command: str, params: dict[str, object]) -> dict[str, NodeAnswer]:
    """Send to every live node at once, then collect the acks within one timeout."""
    channel = ops.commands()
    sent = {node_id: channel.send(command, node_id, None, params) for node_id in sorted(observe(ops.coord).alive)}
    deadline = time.monotonic() + ops.config.ack_timeout
    answers: dict[str, NodeAnswer] = {}
    for node_id, signed in sent.items():
        left = max(0.0, deadline - time.monotonic())
        ack = channel.wait_ack(signed.nonce, left)
        answers[node_id] = (
            NodeAnswer(ok=None, detail=NO_ANSWER) if ack is None else NodeAnswer(ok=ack.ok, detail=ack.detail)
        )
    return answers


def halt(ops: Ops, *, reason: str, flatten: bool = False, by: str = "") -> HaltReport:
    """Halt the cluster (idempotent: halting again updates reason and flatten)."""
    if not reason.strip():
        raise OpsError("a halt needs a reason")
    state = ClusterHalt(reason=reason.strip(), since_ns=ops.wall_ns(), by=by, flatten=flatten)
    previous = read_halt(ops.coord)
    if previous is not None and previous.flatten and not flatten:
        state = msgspec.structs.replace(state, flatten=True)  # a flatten in force is never taken back by a halt
    write_halt(ops.coord, state)
    answers = _broadcast(ops, Command.CLUSTER_HALT, {"reason": state.reason, "flatten": state.flatten})
    detail = {"reason": state.reason, "flatten": state.flatten, "by": by, "acks": _acks(answers)}
    ops.store.audit.record("ops", AUDIT_HALT, detail, state.since_ns)
    return _report(state, _acks(answers), answers)


def resume(ops: Ops, *, by: str = "") -> HaltReport:
    """Resume trading everywhere; an error if the cluster is not halted."""
    previous = read_halt(ops.coord)
    if previous is None:
        raise OpsError("the cluster is not halted")
    clear_halt(ops.coord)
    answers = _broadcast(ops, Command.CLUSTER_RESUME, {})
    detail = {"halted_for": previous.reason, "by": by, "acks": _acks(answers)}
    ops.store.audit.record("ops", AUDIT_RESUME, detail, ops.wall_ns())
    return _report(None, _acks(answers), answers)


def halt_status(ops: Ops, cluster: Cluster | None = None) -> HaltReport:
    """The state in force and, per live node, whether its last report shows it
    applied (``cluster``: an observation already made, else one is made)."""
    state = read_halt(ops.coord)
    seen = cluster if cluster is not None else observe(ops.coord)
    acks = {node_id: bool(node.metrics.cluster_halted) == (state is not None) for node_id, node in seen.alive.items()}
    return _report(state, acks, {})


def _acks(answers: dict[str, NodeAnswer]) -> dict[str, bool]:
    return {node_id: answer.ok is True for node_id, answer in answers.items()}
