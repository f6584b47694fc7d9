"""What each order livecore sent to a venue has become, and the reports it owes.

Pure (no I/O, no clock, no thread): the venue's observations come in (the
answer to a placement, an order update from the websocket or a REST poll, a
trade) and ``OrderFeedback`` reports come out, in the order the portfolio must
see them. The rules:

- An order's first report is ``accepted`` (or ``rejected``): a trade seen
  before the venue's answer is reported after an ``accepted`` made for it.
- Fills are de-duplicated by the venue's trade id (fill id
  ``{venue}:{symbol}:{trade id}``, so a trade seen by the websocket and by a
  REST poll is one fill); each carries its commission in the asset the venue
  charged. The fill that completes the quantity is ``filled``.
- A final ``cancelled`` (canceled, expired, or closed short of the quantity)
  is reported only once every fill up to the venue's filled quantity has been
  reported: a portfolio refuses a fill for an order it was told is cancelled,
  so until then the order is *closing* and ``needs_trades`` lists it.
- An order whose placement has no answer (timeout, lost response,
  disconnect) is *unknown*: nothing is sent for it until the venue has been
  asked by client id (``venues/ccxt/broker.py``); only a venue that never received it
  (``not_received``) makes it ``rejected``.
- A trade of an order not known yet by its venue id waits (``orphans``) until
  an order update names that id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from livecore.venues.ccxt.ids import VenueIds
from livecore.venues.ccxt.translate import FINAL, VenueOrder, VenueStatus, VenueTrade
from livecore.wire.messages import FILL_STATUSES, FeedbackStatus, NewOrder, OrderFeedback

ZERO = Decimal(0)


class Phase(StrEnum):
    SENDING = "sending"  # the placement is on its way
    UNKNOWN = "unknown"  # its answer was lost: the venue is asked before anything else
    OPEN = "open"  # the venue has it
    CLOSING = "closing"  # the venue says it is final; fills still to report
    DONE = "done"  # its final report is made


@dataclass(slots=True)
class Tracked:
    """One order at the venue and what was reported for it so far."""

    order: NewOrder
    venue_id: str
    sent_ns: int
    phase: Phase = Phase.SENDING
    venue_order_id: str | None = None
    accepted: bool = False
    filled: Decimal = ZERO
    fill_ids: set[str] = field(default_factory=set)
    venue_final: VenueStatus | None = None
    venue_filled: Decimal | None = None
    cancel_reason: str | None = None
    last_status: FeedbackStatus | None = None

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id

    @property
    def working(self) -> bool:
        return self.phase is not Phase.DONE


def fill_id_of(venue: str, trade: VenueTrade) -> str:
    """A venue trade's fill id: unique across venues and symbols, stable across restarts."""
    return f"{venue}:{trade.symbol}:{trade.trade_id}"


class OrderTracker:
    """The venue's orders by livecore id, venue client id and venue order id."""

    def __init__(self, *, venue: str, ids: VenueIds) -> None:
        self.venue = venue
        self.ids = ids
        self._orders: dict[str, Tracked] = {}
        self._by_venue_order: dict[str, str] = {}
        self._orphans: dict[str, list[VenueTrade]] = {}
        self._reports: list[OrderFeedback] = []
        self.duplicate_trades = 0
        self.overfills = 0  # trades beyond an order's quantity (reported: the venue's word is the money)

    # --- membership -------------------------------------------------------------

    def add(self, order: NewOrder, now_ns: int, phase: Phase = Phase.SENDING) -> Tracked:
        """Follow ``order`` (its venue id registered; ``ClientIdCollision`` if taken)."""
        tracked = Tracked(order=order, venue_id=self.ids.register(order.client_order_id), sent_ns=now_ns, phase=phase)
        self._orders[order.client_order_id] = tracked
        return tracked

    def restore(self, order: NewOrder, history: Sequence[OrderFeedback], now_ns: int) -> Tracked:
        """Follow an order journaled before a restart, with what was reported for it."""
        tracked = self.add(order, now_ns, Phase.UNKNOWN)
        venue_order_id = None
        for fb in history:
            tracked.last_status = fb.status
            if fb.status is FeedbackStatus.ACCEPTED or fb.status in FILL_STATUSES:
                tracked.accepted = True
            venue_order_id = venue_order_id or fb.venue_order_id
            if fb.status in FILL_STATUSES and fb.fill_id and fb.fill_id not in tracked.fill_ids:
                assert fb.fill_qty is not None
                tracked.fill_ids.add(fb.fill_id)
                tracked.filled += fb.fill_qty
        if venue_order_id is not None:
            self._name(tracked, venue_order_id, now_ns)  # after the history: waiting trades count on from it
        return tracked

    def forget(self, client_order_id: str) -> Tracked | None:
        tracked = self._orders.pop(client_order_id, None)
        if tracked is not None:
            self.ids.forget(client_order_id)
            if tracked.venue_order_id is not None:
                self._by_venue_order.pop(tracked.venue_order_id, None)
        return tracked

    def get(self, client_order_id: str) -> Tracked | None:
        return self._orders.get(client_order_id)

    def working(self, symbol: str | None = None) -> list[Tracked]:
        """Orders not final yet, in arrival order (optionally of one symbol)."""
        return [t for t in self._orders.values() if t.working and (symbol is None or t.order.symbol == symbol)]

    def find(self, *, venue_client_id: str | None = None, venue_order_id: str | None = None) -> Tracked | None:
        """The tracked order a venue observation is about, if any."""
        if venue_order_id is not None:
            coid = self._by_venue_order.get(venue_order_id)
            if coid is not None:
                return self._orders.get(coid)
        if venue_client_id is not None:
            coid = self.ids.livecore_id(venue_client_id)
            if coid is not None:
                return self._orders.get(coid)
        return None

    def needs_trades(self) -> list[Tracked]:
        """Orders the venue says filled more than was reported: their trades are due."""
        return [
            t for t in self._orders.values() if t.working and t.venue_filled is not None and t.filled < t.venue_filled
        ]

    @property
    def orphans(self) -> dict[str, list[VenueTrade]]:
        """Trades by venue order id whose order is not known yet."""
        return self._orphans

    @property
    def has_reports(self) -> bool:
        return bool(self._reports)

    def drain(self) -> list[OrderFeedback]:
        reports, self._reports = self._reports, []
        return reports

    # --- observations ------------------------------------------------------------

    def unknown(self, client_order_id: str) -> None:
        """The placement's outcome is unknown: look it up before anything else."""
        tracked = self._orders.get(client_order_id)
        if tracked is not None and tracked.phase is Phase.SENDING:
            tracked.phase = Phase.UNKNOWN

    def rejected(self, client_order_id: str, reason: str, now_ns: int) -> None:
        """The venue refused the placement (or never received it): final, nothing filled."""
        tracked = self._orders.get(client_order_id)
        if tracked is None or not tracked.working:
            return
        if tracked.accepted or tracked.filled:
            return  # the venue has it after all: its updates decide
        tracked.phase = Phase.DONE
        self._report(tracked, FeedbackStatus.REJECTED, now_ns, reason=reason[:500])

    def cancelling(self, client_order_id: str, reason: str) -> None:
        """A cancel was asked: ``reason`` goes with the final ``cancelled`` report."""
        tracked = self._orders.get(client_order_id)
        if tracked is not None and tracked.cancel_reason is None:
            tracked.cancel_reason = reason

    def order(self, update: VenueOrder, now_ns: int) -> Tracked | None:
        """Apply an order update (placement answer, websocket, REST). None: not ours."""
        tracked = self.find(venue_client_id=update.client_id, venue_order_id=update.order_id)
        if tracked is None:
            return None
        if tracked.venue_order_id is None:
            self._name(tracked, update.order_id, now_ns)
        if not tracked.working:
            return tracked
        if update.status is VenueStatus.REJECTED and not tracked.accepted and not update.filled:
            self.rejected(tracked.client_order_id, "rejected by the venue", now_ns)
            return tracked
        self._accept(tracked, now_ns)
        if tracked.phase in (Phase.SENDING, Phase.UNKNOWN):
            tracked.phase = Phase.OPEN
        for trade in update.trades:
            self._trade(tracked, trade, now_ns)
        if update.status in FINAL:
            tracked.venue_final = update.status
        if update.status in FINAL or update.filled > tracked.filled:
            tracked.venue_filled = max(update.filled, tracked.venue_filled or ZERO)
        self._settle(tracked, now_ns)
        return tracked

    def trade(self, trade: VenueTrade, now_ns: int) -> Tracked | None:
        """Apply one trade. None: its order is not known (kept in ``orphans``)."""
        tracked = self.find(venue_client_id=trade.client_id, venue_order_id=trade.order_id)
        if tracked is None:
            self._orphans.setdefault(trade.order_id, []).append(trade)
            return None
        if tracked.venue_order_id is None:
            self._name(tracked, trade.order_id, now_ns)
        self._accept(tracked, now_ns)
        if tracked.phase in (Phase.SENDING, Phase.UNKNOWN):
            tracked.phase = Phase.OPEN
        self._trade(tracked, trade, now_ns)
        self._settle(tracked, now_ns)
        return tracked

    # --- rules ------------------------------------------------------------------------

    def _name(self, tracked: Tracked, venue_order_id: str, now_ns: int) -> None:
        tracked.venue_order_id = venue_order_id
        self._by_venue_order[venue_order_id] = tracked.client_order_id
        waiting = self._orphans.pop(venue_order_id, [])
        if waiting and tracked.working:
            self._accept(tracked, now_ns)
            for trade in waiting:
                self._trade(tracked, trade, now_ns)

    def _accept(self, tracked: Tracked, now_ns: int) -> None:
        if not tracked.accepted:
            tracked.accepted = True
            self._report(tracked, FeedbackStatus.ACCEPTED, now_ns)

    def _trade(self, tracked: Tracked, trade: VenueTrade, now_ns: int) -> None:
        fill_id = fill_id_of(self.venue, trade)
        if fill_id in tracked.fill_ids:
            self.duplicate_trades += 1
            return
        if not tracked.working:
            self.overfills += 1  # a trade after the final report: the venue's record wins, reported
        tracked.fill_ids.add(fill_id)
        tracked.filled += trade.amount
        quantity = tracked.order.quantity
        if tracked.filled > quantity:
            self.overfills += 1
        done = tracked.filled >= quantity
        if done:
            tracked.phase = Phase.DONE
        self._report(
            tracked,
            FeedbackStatus.FILLED if done else FeedbackStatus.PARTIALLY_FILLED,
            now_ns,
            fill_id=fill_id,
            fill_qty=trade.amount,
            fill_price=trade.price,
            commission=trade.fee,
            commission_asset=trade.fee_asset,
        )

    def _settle(self, tracked: Tracked, now_ns: int) -> None:
        """Close an order the venue says is final once its fills are all reported."""
        if not tracked.working or tracked.venue_final is None:
            return
        if tracked.venue_filled is not None and tracked.filled < tracked.venue_filled:
            tracked.phase = Phase.CLOSING
            return
        tracked.phase = Phase.DONE
        if tracked.filled >= tracked.order.quantity:
            return  # its last fill was the ``filled`` report
        reason = tracked.cancel_reason or f"venue: {tracked.venue_final.value}"
        self._report(tracked, FeedbackStatus.CANCELLED, now_ns, reason=reason)

    def _report(
        self,
        tracked: Tracked,
        status: FeedbackStatus,
        now_ns: int,
        *,
        reason: str | None = None,
        fill_id: str | None = None,
        fill_qty: Decimal | None = None,
        fill_price: Decimal | None = None,
        commission: Decimal = ZERO,
        commission_asset: str = "",
    ) -> None:
        order = tracked.order
        tracked.last_status = status
        self._reports.append(
            OrderFeedback(
                status=status,
                client_order_id=order.client_order_id,
                portfolio_id=order.portfolio_id,
                epoch=order.epoch,
                symbol=order.symbol,
                side=order.side,
                venue_order_id=tracked.venue_order_id,
                fill_id=fill_id,
                fill_qty=fill_qty,
                fill_price=fill_price,
                cumulative_qty=tracked.filled,
                commission=commission,
                commission_asset=commission_asset,
                reason=reason,
                ts_ns=now_ns,
            )
        )
