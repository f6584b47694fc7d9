"""What an operator is told about: the kinds of notice and the notices themselves.

Pure: no I/O, no clock. A ``Notice`` is one event in one line of text; the
batching policy (``policy.py``) merges notices of one kind into a message, and
the ``Notifier`` (``notifier.py``) sends the messages. Each builder below is the
one place a notice's wording is spelled, so every process words an event alike.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from livecore.wire.messages import OrderFeedback


class NoticeKind(enum.StrEnum):
    """Every kind of notice, in the order messages of one instant are sent."""

    CLUSTER_HALT = "cluster_halt"
    RISK_HALT = "risk_halt"
    FAULT = "fault"
    NODE_LOST = "node_lost"
    FAILOVER = "failover"
    REJECTION = "rejection"
    FILL = "fill"

    @property
    def label(self) -> str:
        """How the kind reads in a message title."""
        return self.value.replace("_", " ")


# kinds sent unless the deployment opts out of them; fills are opt-in (``--notify-fills``)
DEFAULT_KINDS = frozenset(NoticeKind) - {NoticeKind.FILL}


@dataclass(frozen=True, slots=True)
class Notice:
    """One event, one line. ``text`` says what happened and to what (ids included)."""

    kind: NoticeKind
    text: str


def fill_notice(feedback: OrderFeedback) -> Notice:
    """A fill (partial or final) the gateway journaled and delivered."""
    return Notice(
        NoticeKind.FILL,
        f"{feedback.portfolio_id}: {feedback.status.value} {_side(feedback)}{feedback.fill_qty} "
        f"{feedback.symbol} @ {feedback.fill_price} (order {feedback.client_order_id}, fill {feedback.fill_id})",
    )


def rejection_notice(feedback: OrderFeedback) -> Notice:
    """An order the gateway rejected (journaled and delivered to its portfolio)."""
    return Notice(
        NoticeKind.REJECTION,
        f"{feedback.portfolio_id}: order {feedback.client_order_id} {_side(feedback)}{feedback.symbol or '-'} "
        f"rejected: {feedback.reason or 'no reason given'}",
    )


def _side(feedback: OrderFeedback) -> str:
    return "" if feedback.side is None else f"{feedback.side.value} "


def risk_halt_notice(portfolio_id: str, reason: str) -> Notice:
    """A risk rule halted a portfolio (no new orders until an operator reloads it)."""
    return Notice(NoticeKind.RISK_HALT, f"{portfolio_id} halted: {reason}")


def fault_notice(subject: str, detail: str) -> Notice:
    """Something stopped working and needs an operator: a portfolio whose code
    raised, a portfolio whose books need reconciling, a node whose loops stalled."""
    return Notice(NoticeKind.FAULT, f"{subject}: {detail}")


def failover_notice(portfolio_id: str, lost_node: str, target: str | None, epoch: int) -> Notice:
    """The scheduler moved a portfolio off a dead node (or fenced it ownerless)."""
    where = target if target is not None else "nowhere yet (no node can take it)"
    return Notice(NoticeKind.FAILOVER, f"{portfolio_id}: from dead node {lost_node} to {where} at epoch {epoch}")


def node_lost_notice(node_id: str, last_seen_s: float | None) -> Notice:
    """A node seen alive at the scheduler's previous pass no longer heartbeats."""
    ago = "" if last_seen_s is None else f" (last heartbeat {last_seen_s:.1f}s ago)"
    return Notice(NoticeKind.NODE_LOST, f"node {node_id} no longer heartbeats{ago}")


def cluster_halt_notice(reason: str, by: str) -> Notice:
    """The whole cluster was told to stop trading. The halt command emits it."""
    return Notice(NoticeKind.CLUSTER_HALT, f"trading halted cluster-wide by {by}: {reason}")
