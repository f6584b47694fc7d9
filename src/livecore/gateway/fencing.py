"""Ownership fencing of orders (see docs/GATEWAY.md, "Fencing").

An order is admitted when its epoch is at least the portfolio's current fence
epoch; the owner named by the fence is not compared (the epoch alone decides,
and the scheduler advances the fence before it loads a portfolio, so the
current owner's epoch always equals the fence). With no fence at all the order
is rejected (``no_owner``) unless ``require_fence`` is off.

Fences are read from the coordination store at most once per portfolio per
batch (``FenceReader.begin_batch`` clears the memo).
"""

from __future__ import annotations

from livecore.ports.coordination import Coordination, Fence
from livecore.wire.names import portfolio_epoch_key

STALE_EPOCH = "stale_epoch"
NO_OWNER = "no_owner"


def admission(order_epoch: int, fence: Fence | None, require_fence: bool) -> str | None:
    """The rejection reason for an order of ``order_epoch``, or None to admit it."""
    if fence is None:
        return NO_OWNER if require_fence else None
    if order_epoch < fence.epoch:
        return STALE_EPOCH
    return None


def is_stale(order_epoch: int, fence: Fence | None) -> bool:
    """True when a newer epoch than ``order_epoch`` owns the portfolio."""
    return fence is not None and order_epoch < fence.epoch


class FenceReader:
    """Reads portfolio fences, memoised for the current batch."""

    def __init__(self, coord: Coordination) -> None:
        self._coord = coord
        self._memo: dict[str, Fence | None] = {}

    def begin_batch(self) -> None:
        self._memo.clear()

    def fence(self, portfolio_id: str) -> Fence | None:
        if portfolio_id not in self._memo:
            self._memo[portfolio_id] = self._coord.get_fence(portfolio_epoch_key(portfolio_id))
        return self._memo[portfolio_id]
