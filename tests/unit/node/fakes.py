"""Stand-ins for the node's unit tests: a portfolio that records what it is
given (the real domain Portfolio is used in tests/integration), a processor
host, and a producer whose deliveries can fail."""

from __future__ import annotations

import enum
import json
import threading
from decimal import Decimal
from typing import Any

from livecore.domain.view import EquitySample
from livecore.node.mailbox import FeedbackTicket
from livecore.node.processor import Order, PortfolioProcessor
from livecore.ports.bus import BusError, Delivery, DeliveryCallback, Producer
from livecore.wire.messages import Bar, FeedbackStatus, NewOrder, OrderFeedback, Side, Tick


class Result(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


class FakePortfolio:
    """Records events; buys one share per tick when ``buy`` is set; dedups fills."""

    def __init__(self, pid: str, symbols: set[str], epoch: int = 1, buy: bool = False) -> None:
        self.portfolio_id = pid
        self.epoch = epoch
        self.symbols = frozenset(symbols)
        self.universe_version = 1
        self.faulted = False
        self.fault: str | None = None
        self.halt_reason: str | None = None
        self.trading_enabled = True
        self.buy = buy
        self.raise_on_market = False
        self.market: list[Tick | Bar] = []
        self.fills: list[str] = []
        self.submitted: list[str] = []
        self.outbox: list[NewOrder] = []
        self.seq = 0
        self.busy = threading.Lock()  # detects two workers at once
        self.overlaps = 0
        self.gate: threading.Event | None = None  # blocks on_market until set

    def set_trading_enabled(self, enabled: bool) -> None:
        self.trading_enabled = enabled

    def on_market(self, event: Tick | Bar) -> None:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
        try:
            if self.gate is not None:
                self.gate.wait(10)
            if self.raise_on_market:
                raise RuntimeError("strategy bug")
            self.market.append(event)
            if self.buy and self.trading_enabled:
                self.seq += 1
                self.outbox.append(order(self.portfolio_id, self.epoch, self.seq, event.symbol))
        finally:
            if self.busy.locked():
                self.busy.release()

    def on_feedback(self, fb: OrderFeedback) -> Result:
        if fb.fill_id in self.fills:
            return Result.DUPLICATE
        self.fills.append(fb.fill_id or "")
        return Result.APPLIED

    @property
    def has_requests(self) -> bool:
        return bool(self.outbox)

    def drain_outbox(self) -> list[NewOrder]:
        out, self.outbox = self.outbox, []
        return out

    def mark_submitted(self, client_order_id: str) -> None:
        self.submitted.append(client_order_id)

    def snapshot(self) -> bytes:
        return json.dumps({"fills": self.fills, "ticks": len(self.market)}).encode()

    def view(self) -> dict[str, Any]:
        return {"portfolio_id": self.portfolio_id, "fills": len(self.fills)}

    def equity_sample(self) -> EquitySample:
        """Equity grows by one per fill, so a test can tell points apart."""
        equity = Decimal(1000 + len(self.fills))
        return EquitySample(
            epoch=self.epoch, equity=equity, cash=equity, realized_pnl=Decimal(0), unrealized_pnl=Decimal(0)
        )

    def change_universe(self, symbols: set[str]) -> None:
        self.symbols = frozenset(symbols)
        self.universe_version += 1

    def reconcile(self, orders: list[NewOrder], feedback: list[OrderFeedback]) -> str:
        for fb in feedback:
            self.on_feedback(fb)
        return "ok"

    def reload(self, spec: Any) -> None:
        self.change_universe(set(spec))


def order(pid: str, epoch: int, seq: int, symbol: str) -> NewOrder:
    return NewOrder(
        client_order_id=f"{pid}-{epoch}-{seq}",
        portfolio_id=pid,
        epoch=epoch,
        node_id="n1",
        symbol=symbol,
        side=Side.BUY,
        quantity=Decimal(1),
        created_ns=1,
    )


def tick(symbol: str, price: str = "10", ts_ns: int = 1) -> Tick:
    return Tick(symbol=symbol, ts_ns=ts_ns, price=Decimal(price))


def fill(pid: str, fill_id: str, coid: str = "p-1-1") -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=coid,
        portfolio_id=pid,
        epoch=1,
        symbol="AAA",
        side=Side.BUY,
        fill_id=fill_id,
        fill_qty=Decimal(1),
        fill_price=Decimal(10),
        cumulative_qty=Decimal(1),
    )


class FakeHost:
    """Records every call a processor makes; ``save_ok`` decides snapshot outcomes."""

    def __init__(self) -> None:
        self.scheduled: list[PortfolioProcessor] = []
        self.sent: list[tuple[str, list[Order], int | None]] = []
        self.snapshots: list[bytes] = []
        self.universe: list[frozenset[str]] = []
        self.equity: list[EquitySample] = []
        self.deferred: list[PortfolioProcessor] = []
        self.save_ok = True

    def schedule(self, processor: PortfolioProcessor) -> None:
        self.scheduled.append(processor)

    def send_orders(self, processor: PortfolioProcessor, orders: list[Order], received_ns: int | None) -> None:
        self.sent.append((processor.portfolio_id, orders, received_ns))

    def save_snapshot(self, processor: PortfolioProcessor, data: bytes) -> bool:
        if self.save_ok:
            self.snapshots.append(data)
        return self.save_ok

    def record_equity(self, processor: PortfolioProcessor, sample: EquitySample) -> None:
        self.equity.append(sample)

    def tickets_done(self, tickets: list[FeedbackTicket]) -> None:
        for ticket in tickets:
            ticket.done = True

    def defer_snapshot(self, processor: PortfolioProcessor) -> None:
        self.deferred.append(processor)

    def universe_changed(self, processor: PortfolioProcessor, symbols: frozenset[str]) -> None:
        self.universe.append(symbols)


class FlakyProducer(Producer):
    """Fails the first ``failures`` deliveries; callbacks served by poll/flush."""

    def __init__(self, failures: int = 0, refuse: int = 0) -> None:
        self.failures = failures
        self.refuse = refuse
        self.published: list[tuple[str, bytes | str | None, bytes]] = []
        self._pending: list[tuple[DeliveryCallback | None, Delivery]] = []

    def publish(
        self, topic: str, key: bytes | str | None, value: bytes, on_delivery: DeliveryCallback | None = None
    ) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            raise BusError("queue full")
        self.published.append((topic, key, value))
        error = None
        if self.failures > 0:
            self.failures -= 1
            error = "broker said no"
        raw = key.encode() if isinstance(key, str) else key
        self._pending.append((on_delivery, Delivery(topic, raw, 0, len(self.published), error)))

    def poll(self, timeout: float = 0.0) -> None:
        pending, self._pending = self._pending, []
        for callback, delivery in pending:
            if callback is not None:
                callback(delivery)

    def flush(self, timeout: float = 10.0) -> None:
        self.poll()

    def close(self, timeout: float = 10.0) -> None:
        self.flush()
