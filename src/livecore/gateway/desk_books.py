"""The desk's book-ownership part: on every change of the orders assignment,
adopt the journal's open orders of the portfolios now ours (restore those with
outcomes, follow those the venue already has, answer those never answered,
cancel those whose epoch went stale) and forget those no longer ours (another
gateway adopts them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from livecore.faults import Fault, classify
from livecore.gateway.desk_base import DeskBase
from livecore.gateway.fencing import is_stale

log = logging.getLogger(__name__)


class BookDesk(DeskBase):
    """Adoption and release of open orders as partitions move."""

    def adopt_open_orders(self, owns: Callable[[str], bool]) -> int:
        """Take over the journal's open orders of the portfolios ``owns`` accepts:
        restore those with outcomes, answer those never answered. Returns the count."""
        with self._lock:
            self._fences.begin_batch()
            self._publisher.flush_pending()
            mine = {o.client_order_id for o in self._broker.open_orders()}
            adopted = 0
            for entry in self._journal.open_orders():
                order = entry.order
                if order.client_order_id in mine or not owns(order.portfolio_id):
                    continue
                try:
                    history = [e.feedback for e in self._journal.feedback_for_order(order.client_order_id)]
                    if history:
                        self._broker.restore(order, history)
                    elif self._venue_knows(order.client_order_id):
                        self._broker.track(order)  # submitted already: its outcomes are followed
                        continue
                    else:
                        self._admit(order, self._clock())
                except Exception as exc:
                    if classify(exc) is Fault.TRANSIENT:
                        raise  # the whole adoption is tried again
                    self.stats.failed_adoptions += 1
                    log.exception("cannot adopt open order %s; skipped", order.client_order_id)
                    continue
                adopted += 1
            self.stats.adopted += adopted
            now = self._clock()
            for order in self._broker.open_orders():
                if is_stale(order.epoch, self._fences.fence(order.portfolio_id)):
                    self._broker.cancel(order.client_order_id, now, "stale_epoch")
                    self.stats.stale_resting_cancelled += 1
            self._publisher.emit(self._broker.drain_reports())
            return adopted

    def release_open_orders(self, owns: Callable[[str], bool]) -> int:
        """Forget open orders of portfolios no longer ours (another gateway adopts them)."""
        with self._lock:
            self._publisher.flush_pending()
            released = 0
            for order in self._broker.open_orders():
                if not owns(order.portfolio_id) and self._broker.release(order.client_order_id):
                    released += 1
            self.stats.released += released
            return released
