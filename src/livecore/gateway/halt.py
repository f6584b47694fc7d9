"""The gateway's side of the cluster kill switch, as pure rules.

While the cluster is halted (``control/halt.py``) the gateway is the safety
net behind the nodes: it has cancelled every resting order, and it admits only
orders that reduce a position, never one that would open, grow or flip it.
"Position" here is projected from the journal alone: the fills of the
portfolio's orders in that symbol plus what its orders still open may yet
fill, so two reducing orders in flight cannot together flip a position.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from livecore.wire.messages import FILL_STATUSES, FeedbackStatus, NewOrder, OrderFeedback, Side

CLUSTER_HALT_CANCEL = "cluster_halt"  # the reason of a resting order cancelled by the halt
REJECT_PREFIX = "cluster_halted"  # the reason of an order refused while halted: "cluster_halted: <why>"
ZERO = Decimal(0)
_FINAL = frozenset({FeedbackStatus.FILLED, FeedbackStatus.CANCELLED, FeedbackStatus.REJECTED})


def _signed(side: Side, quantity: Decimal) -> Decimal:
    return quantity if side is Side.BUY else -quantity


def projected_position(symbol: str, orders: Iterable[NewOrder], feedback: Iterable[OrderFeedback]) -> Decimal:
    """The position in ``symbol`` once every open order of these has filled."""
    mine = {o.client_order_id: o for o in orders if o.symbol == symbol}
    position = ZERO
    seen: set[str] = set()
    last: dict[str, OrderFeedback] = {}
    for fb in feedback:
        order = mine.get(fb.client_order_id)
        if order is None:
            continue
        last[fb.client_order_id] = fb
        if fb.status in FILL_STATUSES and fb.fill_id not in seen and fb.fill_qty is not None:
            seen.add(fb.fill_id or "")
            position += _signed(order.side, fb.fill_qty)
    for coid, order in mine.items():
        final = last.get(coid)
        if final is not None and final.status in _FINAL:
            continue
        done = ZERO if final is None else final.cumulative_qty
        position += _signed(order.side, order.quantity - done)
    return position


def reduces(projected: Decimal, order: NewOrder) -> bool:
    """True when ``order`` brings the projected position closer to zero without
    crossing it."""
    after = projected + _signed(order.side, order.quantity)
    return projected != 0 and abs(after) < abs(projected) and after * projected >= 0


def refusal(reason: str) -> str:
    return f"{REJECT_PREFIX}: {reason}"[:500]
