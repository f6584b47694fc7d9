"""The operator's own caps on one venue, checked before an order leaves.

Independent of the venue's rules (``markets.py``) and of the portfolios'
risk rules: the last guard of the account. ``max_notional``: one order's
quantity times its price (its limit, or the last price seen for a market
order; a market order with no price seen is refused, since its notional could
not be bounded). ``orders_per_minute``: orders sent in any sliding 60 s.

Pure: time comes in with each call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from livecore.checks import require
from livecore.wire.messages import NewOrder

NOTIONAL_CAP = "notional_cap"
RATE_CAP = "rate_cap"
_MINUTE_NS = 60 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class VenueCaps:
    """``None``: no cap of that kind."""

    max_notional: Decimal | None = None
    orders_per_minute: int | None = None

    def __post_init__(self) -> None:
        cap = self.max_notional
        require(cap is None or (cap.is_finite() and cap > 0), self, "max_notional", "must be > 0 (or None)")
        rate = self.orders_per_minute
        require(rate is None or rate >= 1, self, "orders_per_minute", "must be >= 1 (or None)")


class CapGuard:
    """Applies ``VenueCaps``; ``admit`` records an order it lets through."""

    def __init__(self, caps: VenueCaps) -> None:
        self.caps = caps
        self._sent: deque[int] = deque()

    def refusal(self, order: NewOrder, price: Decimal | None, now_ns: int) -> str | None:
        """Why ``order`` may not leave now (the rejection reason), or None."""
        cap = self.caps.max_notional
        if cap is not None:
            if price is None:
                return f"{NOTIONAL_CAP}: no price seen for {order.symbol}: the notional cap {cap} cannot be checked"
            notional = order.quantity * price
            if notional > cap:
                return f"{NOTIONAL_CAP}: {order.quantity} x {price} = {notional} is above the venue cap {cap}"
        rate = self.caps.orders_per_minute
        if rate is not None:
            self._expire(now_ns)
            if len(self._sent) >= rate:
                return f"{RATE_CAP}: {rate} orders already sent in the last minute"
        return None

    def admit(self, now_ns: int) -> None:
        if self.caps.orders_per_minute is not None:
            self._sent.append(now_ns)

    def _expire(self, now_ns: int) -> None:
        while self._sent and self._sent[0] <= now_ns - _MINUTE_NS:
            self._sent.popleft()
