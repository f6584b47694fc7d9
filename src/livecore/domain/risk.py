"""Risk rules: each may allow, shrink or veto a proposed order, with a reason.

A rule sees a ``Proposal`` (side, quantity, reference price) and a read-only
``RiskContext``. It returns None to allow, or a ``Decision`` with the quantity
it allows (0 = veto) and why. Rules that compute a quantity from a value round
down to the sizer's lot size. A rule may also halt the whole portfolio
(``halt_reason``, checked on every market event): the daily loss limit is the
kill switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, ClassVar, Protocol

import msgspec

from livecore.domain.books import ACCOUNTING, divide
from livecore.domain.errors import ParamError
from livecore.domain.params import Configurable, Param
from livecore.domain.sizers import round_lot
from livecore.wire.bounds import MAX_QUANTITY, check_price, check_quantity
from livecore.wire.enums import members
from livecore.wire.messages import OrderType, Side

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_Side = members(Side)  # cheap member reads (wire.enums)


class Proposal(msgspec.Struct, frozen=True):
    """An order the pipeline wants to place, before risk checks (a frozen struct,
    like ``Signal``: one is built per order)."""

    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal  # reference price: the limit price, else the last price
    lot_size: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reason: str = ""

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is _Side.BUY else -self.quantity

    def with_quantity(self, quantity: Decimal) -> Proposal:
        return msgspec.structs.replace(self, quantity=quantity)


@dataclass(frozen=True, slots=True)
class Decision:
    """A rule's answer: the quantity it allows (0 vetoes) and why."""

    quantity: Decimal
    reason: str

    @classmethod
    def veto(cls, reason: str) -> Decision:
        return cls(ZERO, reason)


class RiskContext(Protocol):
    """What rules may read about the portfolio."""

    @property
    def cash(self) -> Decimal: ...
    @property
    def equity(self) -> Decimal: ...
    @property
    def daily_pnl(self) -> Decimal: ...
    @property
    def day_start_equity(self) -> Decimal: ...
    @property
    def allow_short(self) -> bool: ...
    def position(self, symbol: str) -> Decimal: ...
    def available_to_sell(self, symbol: str) -> Decimal: ...
    def last_price(self, symbol: str) -> Decimal | None: ...
    def previous_price(self, symbol: str) -> Decimal | None: ...
    def buy_reservation(self, quantity: Decimal, proposal: Proposal) -> Decimal: ...


class RiskRule(Configurable):
    """Base of risk rules. ``name`` is how vetoes and the spec refer to the rule."""

    name: ClassVar[str] = "rule"

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        """None to allow ``proposal`` as is; a ``Decision`` to shrink or veto it."""
        return None

    def halt_reason(self, ctx: RiskContext) -> str | None:
        """A reason to halt the portfolio now (kill switch), else None."""
        return None


class MaxPositionWeight(RiskRule):
    """A position may not exceed ``max_percent`` of equity (orders that reduce one pass)."""

    name = "max_position_weight"
    max_percent = Param(Decimal, gt=ZERO, le=HUNDRED, doc="largest position as percent of equity")

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        position = ctx.position(proposal.symbol)
        after = position + proposal.signed_quantity
        if abs(after) <= abs(position):
            return None
        limit_value = max(ctx.equity * self.max_percent / HUNDRED, ZERO)
        if abs(after) * proposal.price <= limit_value:
            return None
        limit_qty = round_lot(divide(limit_value, proposal.price), proposal.lot_size)
        step = (limit_qty if after > 0 else -limit_qty) - position
        allowed = abs(step) if step * proposal.signed_quantity > 0 else ZERO
        return Decision(
            min(allowed, proposal.quantity),
            f"position would be {abs(after) * proposal.price:.2f}, above {self.max_percent}% of equity "
            f"({limit_value:.2f})",
        )


class MaxOrderValue(RiskRule):
    """An order may not be worth more than ``max_value``."""

    name = "max_order_value"
    max_value = Param(Decimal, gt=ZERO, doc="largest order value in the portfolio currency")

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        value = proposal.quantity * proposal.price
        if value <= self.max_value:
            return None
        allowed = round_lot(divide(self.max_value, proposal.price), proposal.lot_size)
        return Decision(allowed, f"order value {value:.2f} above {self.max_value}")


class DailyLossLimit(RiskRule):
    """Kill switch: halt the portfolio once today's loss reaches the limit.

    The day is the UTC calendar day of the event timestamps; the loss is equity
    now minus equity at the first event of the day. Set ``max_loss`` (currency),
    ``max_loss_percent`` (of the day's starting equity), or both.
    """

    name = "daily_loss_limit"
    max_loss = Param(Decimal, ZERO, ge=ZERO, doc="largest daily loss in currency (0: not used)")
    max_loss_percent = Param(Decimal, ZERO, ge=ZERO, le=HUNDRED, doc="largest daily loss in percent")

    @classmethod
    def check_params(cls, values: Mapping[str, Any]) -> None:
        if not values["max_loss"] and not values["max_loss_percent"]:
            raise ParamError("max_loss", "set max_loss or max_loss_percent (or both) above 0")

    def _limit(self, ctx: RiskContext) -> Decimal:
        limits = []
        if self.max_loss:
            limits.append(self.max_loss)
        if self.max_loss_percent:
            limits.append(ctx.day_start_equity * self.max_loss_percent / HUNDRED)
        return min(limits)

    def halt_reason(self, ctx: RiskContext) -> str | None:
        loss = -ctx.daily_pnl
        limit = self._limit(ctx)
        if loss > 0 and loss >= limit:
            return f"daily loss {loss:.2f} reached the limit {limit:.2f}"
        return None

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        reason = self.halt_reason(ctx)
        return Decision.veto(reason) if reason else None


class NoShort(RiskRule):
    """Never sell more than the long quantity not already promised to other sells."""

    name = "no_short"

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        if proposal.side is not _Side.SELL:
            return None
        available = ctx.available_to_sell(proposal.symbol)
        if proposal.quantity <= available:
            return None
        return Decision(available, f"sell {proposal.quantity} would go short (available {available})")


class PriceBand(RiskRule):
    """Refuse orders priced far from the market: a limit price against the last
    price, or a market order whose triggering price jumped from the one before."""

    name = "price_band"
    max_deviation_percent = Param(Decimal, Decimal(20), gt=ZERO, doc="largest allowed deviation")

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        if proposal.limit_price is not None:
            reference = ctx.last_price(proposal.symbol)
            price = proposal.limit_price
        else:
            reference = ctx.previous_price(proposal.symbol)
            price = proposal.price
        if reference is None:
            return None
        deviation = abs(price - reference) / reference * HUNDRED
        if deviation <= self.max_deviation_percent:
            return None
        return Decision.veto(f"price {price} is {deviation:.2f}% from {reference}, band {self.max_deviation_percent}%")


class CashCheck(RiskRule):
    """Always last (not configurable): a buy must fit the free cash, reservation included."""

    name = "cash"

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        if proposal.side is not _Side.BUY:
            return None
        needed = ctx.buy_reservation(proposal.quantity, proposal)
        if needed <= ctx.cash:
            return None
        unit = ctx.buy_reservation(Decimal(1), proposal)
        affordable = round_lot(divide(max(ctx.cash, ZERO), unit), proposal.lot_size) if unit > 0 else ZERO
        return Decision(min(affordable, proposal.quantity), f"needs {needed:.2f}, free cash {ctx.cash:.2f}")


class WireBounds(RiskRule):
    """Always after the cash check (not configurable): an order the wire could not
    carry (``wire.bounds``) is shrunk below ``MAX_QUANTITY`` in whole lots, or
    vetoed when its limit price or the lot size breaks the bounds. Without it a
    tiny price with an equity-based sizer builds an order that fails to construct
    and faults the portfolio."""

    name = "wire_bounds"

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        try:
            if proposal.limit_price is not None:
                check_price("limit_price", proposal.limit_price)
            quantity = proposal.quantity
            if quantity >= MAX_QUANTITY:
                with localcontext(ACCOUNTING):
                    quantity = max(round_lot(MAX_QUANTITY - proposal.lot_size, proposal.lot_size), ZERO)
            check_quantity("quantity", quantity)
        except ValueError as exc:
            return Decision.veto(str(exc))
        if quantity == proposal.quantity:
            return None
        return Decision(quantity, f"quantity {proposal.quantity} at or above the wire's bound {MAX_QUANTITY}")
