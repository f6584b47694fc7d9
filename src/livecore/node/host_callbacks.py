"""What a processor asks of the node around it (``ProcessorHost``): put it on a
worker, hand its orders to the producer, store its snapshots and equity points,
release feedback tickets, and refresh the InterestMap when its strategy changes
universe. Kept apart from ``hosting.py``, which decides which portfolios are
hosted; these calls run on the workers, per batch, and take no hosting lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from livecore.domain.view import EquitySample
from livecore.node.deferred import DeferredSnapshots
from livecore.node.interest import InterestMap
from livecore.node.mailbox import FeedbackTicket
from livecore.node.orders import OrderSender
from livecore.node.processor import Order, PortfolioProcessor
from livecore.node.table import HostedPortfolios
from livecore.node.workers import WorkerPool
from livecore.ports.store import EquityPoint, Store

log = logging.getLogger(__name__)


class ProcessorCallbacks:
    """The node's ``ProcessorHost``."""

    def __init__(
        self,
        *,
        node_id: str,
        store: Store,
        interest: InterestMap,
        portfolios: HostedPortfolios,
        sender: OrderSender,
        pool: WorkerPool,
        market_changed: Callable[[], object],
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        """``now_ns``: when an equity point is taken (the event clock in event time)."""
        self._node_id = node_id
        self._store = store
        self._interest = interest
        self._portfolios = portfolios
        self._sender = sender
        self._pool = pool
        self._market_changed = market_changed
        self._now_ns = now_ns
        self.deferred = DeferredSnapshots()  # the feedback loop asks them when due
        self.snapshot_failures = 0
        self.equity_failures = 0

    def schedule(self, processor: PortfolioProcessor) -> None:
        self._pool.submit(processor)

    def send_orders(self, processor: PortfolioProcessor, orders: list[Order], received_ns: int | None) -> None:
        self._sender.send(processor, orders, received_ns)

    def save_snapshot(self, processor: PortfolioProcessor, data: bytes) -> bool:
        try:
            self._store.snapshots.save(processor.portfolio_id, processor.epoch, data, time.time_ns())
        except Exception as exc:
            self.snapshot_failures += 1
            log.warning("snapshot of %s not saved: %s", processor.portfolio_id, exc)
            return False
        return True

    def record_equity(self, processor: PortfolioProcessor, sample: EquitySample) -> None:
        point = EquityPoint(
            portfolio_id=processor.portfolio_id,
            ts_ns=self._now_ns(),
            epoch=sample.epoch,
            node_id=self._node_id,
            equity=sample.equity,
            cash=sample.cash,
            realized_pnl=sample.realized_pnl,
            unrealized_pnl=sample.unrealized_pnl,
        )
        try:
            self._store.equity.record(point)
        except Exception as exc:
            self.equity_failures += 1
            log.warning("equity point of %s not saved: %s", processor.portfolio_id, exc)

    def tickets_done(self, tickets: list[FeedbackTicket]) -> None:
        for ticket in tickets:
            ticket.done = True

    def defer_snapshot(self, processor: PortfolioProcessor) -> None:
        self.deferred.defer(processor)

    def universe_changed(self, processor: PortfolioProcessor, symbols: frozenset[str]) -> None:
        if self._portfolios.get(processor.portfolio_id) is processor and not processor.closed:
            self._interest.set(processor.portfolio_id, symbols)
            self._market_changed()  # new partitions are read from the next poll on
