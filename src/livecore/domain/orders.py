"""The order state machine.

::

    CREATED -> SUBMITTED -> ACCEPTED -> PARTIALLY_FILLED -> FILLED
                  |            |              |
                  |            +--------------+--> CANCEL_PENDING -> CANCELLED
                  +------------+--> REJECTED                      -> FILLED / REJECTED

An order is recorded as CREATED before anything sends it; SUBMITTED once the
bus confirmed delivery. FILLED, REJECTED and CANCELLED are final. A change not
in ``TRANSITIONS`` raises ``IllegalTransition`` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

import msgspec

from livecore.domain.errors import IllegalTransition
from livecore.wire.enums import members
from livecore.wire.messages import NewOrder, OrderType, Side, TimeInForce

ZERO = Decimal(0)


class OrderState(StrEnum):
    CREATED = "created"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    CANCEL_PENDING = "cancel_pending"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


S = OrderState
_State, _Side = members(OrderState), members(Side)  # cheap member reads (wire.enums)
FINAL_STATES = frozenset({S.FILLED, S.REJECTED, S.CANCELLED})
CANCELLABLE_STATES = frozenset({S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED})

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    # CREATED -> REJECTED only for a local decision (the order never left).
    S.CREATED: frozenset({S.SUBMITTED, S.REJECTED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED}),
    # A venue may still reject an order it acknowledged (nothing filled yet).
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.REJECTED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED}),
    # A fill can race the cancel: CANCEL_PENDING -> CANCEL_PENDING books a partial fill.
    S.CANCEL_PENDING: frozenset({S.CANCEL_PENDING, S.FILLED, S.CANCELLED, S.REJECTED}),
    S.FILLED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}


class Order(msgspec.Struct, kw_only=True):
    """One order of one portfolio, with what it filled and what it still reserves."""

    client_order_id: str
    seq: int
    epoch: int
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    created_ns: int
    state: OrderState = OrderState.CREATED
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    commission: Decimal = ZERO
    reserved_cash: Decimal = ZERO  # cash still held for this (buy) order
    reserved_qty: Decimal = ZERO  # position quantity still held for this (sell) order
    fill_ids: list[str] = []
    reason: str | None = None
    venue_order_id: str | None = None
    # True when the current state was inferred locally (e.g. an old-epoch order the
    # gateway never journaled), not reported by the gateway: later facts may revive it.
    inferred: bool = False
    updated_ns: int = 0

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_qty

    @property
    def signed_remaining(self) -> Decimal:
        return self.remaining if self.side is _Side.BUY else -self.remaining

    def can(self, new: OrderState) -> bool:
        return new in TRANSITIONS[self.state]

    def to(self, new: OrderState) -> None:
        """Move to ``new`` or raise ``IllegalTransition`` leaving the order untouched."""
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.client_order_id, self.state.value, new.value)
        self.state = new
        self.inferred = False

    def infer_rejected(self, reason: str) -> None:
        """Resolve an order locally as rejected (revivable by a later gateway report)."""
        self.to(_State.REJECTED)
        self.reason = reason
        self.inferred = True

    def revive(self) -> None:
        """Undo an inferred rejection because the gateway reported the order after all."""
        if not (self.state is _State.REJECTED and self.inferred):
            raise IllegalTransition(self.client_order_id, self.state.value, _State.SUBMITTED.value)
        self.state = _State.SUBMITTED
        self.inferred = False
        self.reason = None

    def to_new_order(self, portfolio_id: str, node_id: str) -> NewOrder:
        """The wire request for this order."""
        return NewOrder(
            client_order_id=self.client_order_id,
            portfolio_id=portfolio_id,
            epoch=self.epoch,
            node_id=node_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            limit_price=self.limit_price,
            time_in_force=self.time_in_force,
            created_ns=self.created_ns,
        )


def client_order_id(portfolio_id: str, epoch: int, seq: int) -> str:
    """``{portfolio_id}-{epoch}-{seq}``: deterministic, so a resend is recognisable."""
    return f"{portfolio_id}-{epoch}-{seq}"


def parse_client_order_id(coid: str) -> tuple[str, int, int] | None:
    """``(portfolio_id, epoch, seq)`` of a well-formed id, else None."""
    parts = coid.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


def booked_earlier(client_order_id: str, booked: Mapping[int, int]) -> bool:
    """Whether these books booked the order (``EntryState.booked``: the highest seq
    booked per epoch; one owner numbers an epoch's orders in sequence). Such an
    order that is no longer held was closed and forgotten: every fill it took is
    in the books, and no later one may apply."""
    parsed = parse_client_order_id(client_order_id)
    return parsed is not None and 0 < parsed[2] <= booked.get(parsed[1], 0)
