"""From signals to orders: strategy -> signals -> sizer -> risk rules -> orders.

The sizer runs before the risk rules (a deliberate reading of "signals -> risk
-> sizer"): rules such as the order-value cap, the position-weight cap and the
price band judge a concrete quantity and price, so they need the sized order.
Each rule may shrink or veto; every shrink and veto is noted with the rule's
name and reason. Two rules are implicit: ``no_short`` when the spec does not
allow shorting, and ``cash`` (a buy must fit the free cash) always last.

A signal for a symbol that already has an order in flight is suppressed unless
the signal sets ``force`` (this stops order storms while a fill is pending).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import msgspec

from livecore.domain.risk import CashCheck, NoShort, Proposal, RiskContext, RiskRule, WireBounds
from livecore.domain.sizers import Sizer
from livecore.domain.strategy import Direction, Signal
from livecore.wire.messages import OrderType, Side

ZERO = Decimal(0)
# Enum members bound once: on Python 3.11 every ``Direction.LONG`` goes through
# ``EnumType.__getattr__``, and these are read for every signal
_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT
_BUY, _SELL = Side.BUY, Side.SELL
_MARKET, _LIMIT = OrderType.MARKET, OrderType.LIMIT


class ComponentError(Exception):
    """A user-replaceable component (strategy, sizer, rule) raised; ``where`` names it."""

    def __init__(self, where: str, error: BaseException) -> None:
        super().__init__(f"{where}: {type(error).__name__}: {error}")
        self.where = where
        self.error = error


class RiskNote(msgspec.Struct, frozen=True, kw_only=True):
    """A veto or shrink, kept for operators."""

    ts_ns: int
    symbol: str
    rule: str
    action: str  # "veto" | "shrink"
    requested: Decimal
    allowed: Decimal
    reason: str


class PipelineAccount(RiskContext, Protocol):
    def has_open_order(self, symbol: str) -> bool: ...
    def open_quantity(self, symbol: str) -> Decimal: ...


class OrderSink(Protocol):
    """Where the pipeline's outcomes go (the portfolio)."""

    def place(self, proposal: Proposal, ts_ns: int) -> None: ...
    def cancel_open(self, symbol: str, ts_ns: int) -> None: ...
    def note(self, note: RiskNote) -> None: ...
    def suppress(self, signal: Signal) -> None: ...


class Pipeline:
    """Sizer and rules of one portfolio; stateless between calls."""

    def __init__(self, sizer: Sizer, rules: Sequence[RiskRule], allow_short: bool) -> None:
        self.sizer = sizer
        implicit: list[RiskRule] = []
        if not allow_short and not any(isinstance(rule, NoShort) for rule in rules):
            implicit.append(NoShort())
        self.rules: tuple[RiskRule, ...] = (*rules, *implicit, CashCheck(), WireBounds())
        self.reduce_only = False  # the cluster kill switch: a position may only move toward zero
        # only rules that override ``halt_reason`` can halt (the base answers None), and
        # it is asked on every market event: skip the others
        self.halting: tuple[RiskRule, ...] = tuple(
            rule for rule in self.rules if type(rule).halt_reason is not RiskRule.halt_reason
        )

    def halt_reason(self, account: RiskContext) -> str | None:
        """The first kill-switch reason of any rule, as ``rule: reason``."""
        for rule in self.halting:
            try:
                reason = rule.halt_reason(account)
            except Exception as exc:
                raise ComponentError(f"risk.{rule.name}", exc) from exc
            if reason:
                return f"{rule.name}: {reason}"
        return None

    def run(self, signals: Sequence[Signal], ts_ns: int, account: PipelineAccount, sink: OrderSink) -> None:
        """Each signal in turn. The checks up to the target run inline: most signals
        repeat a level the position already meets, and stop there."""
        for signal in signals:
            symbol = signal.symbol
            if signal.cancel:
                sink.cancel_open(symbol, ts_ns)
                continue
            force = signal.force
            if not force and account.has_open_order(symbol):
                sink.suppress(signal)
                continue
            limit = signal.limit_price
            price = limit if limit is not None else account.last_price(symbol)
            if price is None:
                sink.note(_note(ts_ns, symbol, "pipeline", ZERO, ZERO, "no price seen for the symbol yet"))
                continue
            current = account.position(symbol)
            if force:
                current += account.open_quantity(symbol)
            target = signal.target_qty
            if target is None:  # a direction
                direction = signal.direction
                if direction is _FLAT:
                    if not current:
                        continue
                    target = ZERO
                elif (direction is _LONG and current > 0) or (direction is _SHORT and current < 0):
                    continue
                else:
                    target = self._sized(signal, price, account)
            if target == current:
                continue
            if self.reduce_only:  # the cluster kill switch: only toward zero
                reduced = toward_zero(current, target)
                if reduced is None:
                    sink.note(_note(ts_ns, symbol, REDUCE_ONLY, abs(target - current), ZERO, REDUCE_ONLY_WHY))
                    continue
                target = reduced
            self._order(signal, price, target - current, ts_ns, account, sink)

    def _order(
        self, signal: Signal, price: Decimal, delta: Decimal, ts_ns: int, account: PipelineAccount, sink: OrderSink
    ) -> None:
        """The order that moves the position by ``delta``, shrunk or vetoed by the rules."""
        symbol, limit = signal.symbol, signal.limit_price
        proposal = Proposal(
            symbol=symbol,
            side=_BUY if delta > 0 else _SELL,
            quantity=abs(delta),
            price=price,
            lot_size=self.sizer.lot_size,
            order_type=_LIMIT if limit is not None else _MARKET,
            limit_price=limit,
            reason=signal.reason,
        )
        for rule in self.rules:
            try:
                decision = rule.check(proposal, account)
            except Exception as exc:
                raise ComponentError(f"risk.{rule.name}", exc) from exc
            if decision is None or decision.quantity >= proposal.quantity:
                continue
            allowed = max(decision.quantity, ZERO)
            sink.note(_note(ts_ns, symbol, rule.name, proposal.quantity, allowed, decision.reason))
            if allowed == 0:
                return
            proposal = proposal.with_quantity(allowed)
        sink.place(proposal, ts_ns)

    def _sized(self, signal: Signal, price: Decimal, account: RiskContext) -> Decimal:
        """The signed position a long or short signal asks for, by the sizer."""
        try:
            size = self.sizer.target_quantity(signal.symbol, price, account)
        except Exception as exc:
            raise ComponentError("sizer", exc) from exc
        return size if signal.direction is _LONG else -size


REDUCE_ONLY = "cluster_halt"
REDUCE_ONLY_WHY = "the cluster is halted: positions may only be reduced"


def toward_zero(current: Decimal, target: Decimal) -> Decimal | None:
    """The part of a move from ``current`` to ``target`` that only reduces the
    position (a flip stops at flat); None when nothing of it does."""
    if current == 0 or target == current:
        return None
    if target * current < 0:
        return ZERO
    return target if abs(target) < abs(current) else None


def _note(ts_ns: int, symbol: str, rule: str, requested: Decimal, allowed: Decimal, reason: str) -> RiskNote:
    return RiskNote(
        ts_ns=ts_ns,
        symbol=symbol,
        rule=rule,
        action="veto" if allowed == 0 else "shrink",
        requested=requested,
        allowed=allowed,
        reason=reason,
    )
