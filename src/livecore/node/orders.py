"""Orders out: from a portfolio's outbox to the ``orders`` topic.

Each order is encoded once and published keyed by portfolio id. Only when the
bus confirms delivery is the order marked submitted (through the processor's
mailbox, so the portfolio is touched by its own worker). A failed delivery, or
a publish the producer refuses, is retried with the very same bytes (same
client order id, so the gateway de-duplicates) until it is delivered, or the
portfolio is no longer hosted here (a dropped owner must not send).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from livecore.node.latency import LatencyRecorder
from livecore.node.processor import PortfolioProcessor
from livecore.ports.bus import BusError, Delivery, Producer
from livecore.wire.codec import encode
from livecore.wire.messages import CancelOrder, NewOrder

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    processor: PortfolioProcessor
    order: NewOrder | CancelOrder
    payload: bytes
    attempts: int = 0


class OrderSender:
    """Thread-safe: workers send, any thread serves callbacks and retries."""

    def __init__(self, *, topic: str, retry_interval_s: float, latency: LatencyRecorder) -> None:
        self._topic = topic
        self._retry_interval = retry_interval_s
        self._latency = latency
        self._producer: Producer | None = None
        self._lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._retry: deque[tuple[float, _Pending]] = deque()
        self.sent = 0
        self.delivered = 0
        self.failures = 0

    def attach(self, producer: Producer | None) -> None:
        """Use ``producer`` (None detaches, at stop)."""
        self._producer = producer

    # --- sending ------------------------------------------------------------------

    def send(
        self, processor: PortfolioProcessor, orders: list[NewOrder | CancelOrder], received_ns: int | None
    ) -> None:
        for order in orders:
            self._publish(_Pending(processor, order, encode(order)))
        if received_ns is not None:
            self._latency.record(time.perf_counter_ns() - received_ns)

    def _publish(self, pending: _Pending) -> None:
        producer = self._producer
        pid = pending.processor.portfolio_id
        pending.attempts += 1
        with self._lock:
            self._inflight[pid] = self._inflight.get(pid, 0) + 1
        if producer is None:
            self._failed(pending, "no producer (node stopped)")
            return
        try:
            producer.publish(self._topic, pid, pending.payload, lambda d: self._delivered(pending, d))
            with self._lock:  # workers send concurrently: `+=` alone loses counts
                self.sent += 1
        except BusError as exc:
            self._failed(pending, str(exc))

    def _delivered(self, pending: _Pending, delivery: Delivery) -> None:
        if delivery.error is not None:
            self._failed(pending, delivery.error)
            return
        self._done(pending)
        with self._lock:
            self.delivered += 1
        if isinstance(pending.order, NewOrder):
            pending.processor.confirm_submitted(pending.order.client_order_id)

    def _failed(self, pending: _Pending, reason: str) -> None:
        with self._lock:
            self.failures += 1
        log.warning(
            "order %s: delivery failed (attempt %d): %s; will retry",
            pending.order.client_order_id,
            pending.attempts,
            reason,
        )
        with self._lock:
            self._retry.append((time.monotonic() + self._retry_interval, pending))

    def _done(self, pending: _Pending) -> None:
        pid = pending.processor.portfolio_id
        with self._lock:
            left = self._inflight.get(pid, 1) - 1
            if left > 0:
                self._inflight[pid] = left
            else:
                self._inflight.pop(pid, None)

    # --- service (called often by the market-data loop, and while draining) ---------

    def service(self) -> None:
        """Serve delivery callbacks and resend failed orders whose wait is over."""
        producer = self._producer
        if producer is not None:
            try:
                producer.poll(0)
            except BusError as exc:
                log.warning("producer poll failed: %s", exc)
        now = time.monotonic()
        due: list[_Pending] = []
        with self._lock:
            while self._retry and self._retry[0][0] <= now:
                due.append(self._retry.popleft()[1])
        for pending in due:
            self._done(pending)
            if pending.processor.closed:
                log.warning(
                    "order %s not resent: portfolio %s is no longer hosted here",
                    pending.order.client_order_id,
                    pending.processor.portfolio_id,
                )
                continue
            self._publish(pending)

    def inflight(self, portfolio_id: str | None = None) -> int:
        with self._lock:
            if portfolio_id is None:
                return sum(self._inflight.values())
            return self._inflight.get(portfolio_id, 0)

    def wait_delivered(self, portfolio_id: str, timeout: float) -> bool:
        """Wait until every order of ``portfolio_id`` is delivered; False at the timeout."""
        deadline = time.monotonic() + timeout
        while self.inflight(portfolio_id):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            producer = self._producer
            if producer is not None:
                with contextlib.suppress(BusError):
                    producer.flush(min(remaining, self._retry_interval))
            self.service()
            if self.inflight(portfolio_id):
                time.sleep(min(0.01, max(0.0, remaining)))
        return True
