"""Order entry: turns approved proposals into recorded orders.

An order gets its client order id (``{portfolio}-{epoch}-{seq}``, seq only
grows), its reservation and its place in the order book *before* its wire
request enters the outbox the node drains: nothing can be sent that the
portfolio has not recorded.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from livecore.domain.account import buy_reservation
from livecore.domain.books import Books
from livecore.domain.order_book import OrderBook
from livecore.domain.orders import CANCELLABLE_STATES, Order, OrderState, client_order_id, parse_client_order_id
from livecore.domain.pipeline import RiskNote
from livecore.domain.risk import Proposal
from livecore.domain.snapshot import Counters, PortfolioState
from livecore.domain.strategy import Signal
from livecore.wire.enums import members
from livecore.wire.messages import CancelOrder, NewOrder, Side

ZERO = Decimal(0)
_State, _Side = members(OrderState), members(Side)  # cheap member reads (wire.enums)
Request = NewOrder | CancelOrder


@dataclass(slots=True)
class EntryState:
    """What order entry carries from one wiring to the next (reload, restore) and into
    the snapshot: the numbering and the requests not yet drained."""

    seq: int = 0
    outbox: list[Request] = field(default_factory=list)
    last_order_id: str | None = None
    # epoch -> highest seq of that epoch whose order is in these books (placed here or
    # adopted from the journal); any order at or below it is booked, even if forgotten.
    booked: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, state: PortfolioState) -> EntryState:
        return cls(
            seq=state.seq,
            outbox=list(state.outbox),
            last_order_id=state.last_order_id,
            booked=dict(state.booked),
        )


class OrderEntry:
    """Implements the pipeline's ``OrderSink`` for one portfolio."""

    def __init__(
        self,
        *,
        portfolio_id: str,
        epoch: int,
        node_id: str,
        books: Books,
        orders: OrderBook,
        counters: Counters,
        notes: deque[RiskNote],
        reservation_buffer: Decimal,
        state: EntryState,
    ) -> None:
        self.portfolio_id = portfolio_id
        self.epoch = epoch
        self.node_id = node_id
        self.books = books
        self.orders = orders
        self.counters = counters
        self.notes = notes
        self.reservation_buffer = reservation_buffer
        self.state = state

    # --- OrderSink --------------------------------------------------------------

    def place(self, proposal: Proposal, ts_ns: int) -> None:
        state = self.state
        seq = state.seq = state.seq + 1
        order = Order(
            client_order_id=client_order_id(self.portfolio_id, self.epoch, seq),
            seq=seq,
            epoch=self.epoch,
            symbol=proposal.symbol,
            side=proposal.side,
            quantity=proposal.quantity,
            order_type=proposal.order_type,
            limit_price=proposal.limit_price,
            created_ns=ts_ns,
            updated_ns=ts_ns,
        )
        self._reserve(order, proposal.price)
        self.orders.add(order)
        state.outbox.append(order.to_new_order(self.portfolio_id, self.node_id))
        self.counters.orders += 1
        state.last_order_id = order.client_order_id
        state.booked[self.epoch] = seq

    def cancel_open(self, symbol: str, ts_ns: int) -> None:
        for order in self.orders.open_for(symbol):
            if order.state in CANCELLABLE_STATES:
                order.to(_State.CANCEL_PENDING)
                order.updated_ns = ts_ns
                self.state.outbox.append(
                    CancelOrder(
                        client_order_id=order.client_order_id,
                        portfolio_id=self.portfolio_id,
                        epoch=self.epoch,
                        node_id=self.node_id,
                        created_ns=ts_ns,
                    )
                )
                self.counters.cancels += 1

    def note(self, note: RiskNote) -> None:
        self.notes.append(note)
        if note.action == "veto":
            self.counters.vetoes += 1
        else:
            self.counters.shrinks += 1

    def suppress(self, signal: Signal) -> None:
        self.counters.suppressed += 1

    # --- outbox -------------------------------------------------------------------

    def drain(self) -> list[Request]:
        out, self.state.outbox = self.state.outbox, []
        return out

    # --- adoption (reconcile) -------------------------------------------------------

    def adopt(self, request: NewOrder) -> Order:
        """Record an order the gateway journaled but this state did not know."""
        parsed = parse_client_order_id(request.client_order_id)
        seq = parsed[2] if parsed is not None else 0
        order = Order(
            client_order_id=request.client_order_id,
            seq=seq,
            epoch=request.epoch,
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
            order_type=request.order_type,
            limit_price=request.limit_price,
            time_in_force=request.time_in_force,
            created_ns=request.created_ns,
            state=_State.SUBMITTED,
            updated_ns=request.created_ns,
        )
        price = request.limit_price or self.books.last_prices.get(request.symbol)
        if price is not None or order.side is _Side.SELL:
            self._reserve(order, price or ZERO)
        self.orders.add(order)
        self.state.seq = max(self.state.seq, seq)
        self.state.booked[request.epoch] = max(self.state.booked.get(request.epoch, 0), seq)
        self.counters.orders += 1
        return order

    def _reserve(self, order: Order, price: Decimal) -> None:
        if order.side is _Side.BUY:
            amount = buy_reservation(
                order.quantity, order.order_type, order.limit_price, price, self.reservation_buffer
            )
            self.books.reserve_cash(amount)
            order.reserved_cash = amount
        else:
            position = self.books.positions.get(order.symbol)
            held = min(order.quantity, position.available_to_sell) if position is not None else ZERO
            if held > 0:
                self.books.reserve_qty(order.symbol, held)
                order.reserved_qty = held
