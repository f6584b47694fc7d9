"""Test doubles that wrap real collaborators and fail on purpose: a journal whose
writes raise what the SQL adapter would raise for a given order, a store whose
ping fails during an outage, a broker that raises on marked orders or prices.

Everything not overridden goes to the real object, so the code under test
runs against the real database and broker otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

import sqlalchemy.exc

from livecore.gateway.broker import BrokerAdapter, ExecutionReport
from livecore.gateway.paper import PaperBroker
from livecore.ports.store import Journal, Store, StoreError
from livecore.wire.messages import Bar, MarketEvent, NewOrder, Tick

Rule = Callable[[NewOrder], Exception | None]


def store_error(kind: type[sqlalchemy.exc.DBAPIError], message: str) -> StoreError:
    """A ``StoreError`` raised from a driver error, as ``adapters/sql`` raises it."""
    try:
        try:
            raise kind("INSERT INTO lc_journal_orders ...", {}, Exception(message))
        except sqlalchemy.exc.DBAPIError as driver:
            raise StoreError(f"database write failed: {message}") from driver
    except StoreError as exc:
        return exc


class Outage:
    """A database that does not answer for the next ``calls`` journal writes (its
    ping fails meanwhile too)."""

    def __init__(self, calls: int = 0) -> None:
        self.remaining = calls
        self._lock = threading.Lock()

    def down(self) -> bool:
        with self._lock:
            return self.remaining > 0

    def consume(self) -> bool:
        with self._lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            return True


class FaultyJournal:
    """The real journal; ``record_order`` raises what ``rule`` says for an order,
    and every write raises a connection error while ``outage`` lasts."""

    def __init__(self, real: Journal, rule: Rule | None = None, outage: Outage | None = None) -> None:
        self._real = real
        self.rule: Rule = rule or (lambda order: None)
        self.outage = outage or Outage()
        self.record_order_calls: dict[str, int] = {}

    def record_order(self, order: NewOrder, received_ns: int) -> bool:
        coid = order.client_order_id
        self.record_order_calls[coid] = self.record_order_calls.get(coid, 0) + 1
        if self.outage.consume():
            raise store_error(sqlalchemy.exc.OperationalError, "server closed the connection unexpectedly")
        failure = self.rule(order)
        if failure is not None:
            raise failure
        return self._real.record_order(order, received_ns)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class FaultyStore:
    """The real store with a ``FaultyJournal``; ``ping`` fails during the outage."""

    def __init__(self, real: Store, journal: FaultyJournal) -> None:
        self._real = real
        self.journal = journal

    def ping(self) -> None:
        if self.journal.outage.down():
            raise store_error(sqlalchemy.exc.OperationalError, "could not connect to server")
        self._real.ping()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def as_store(self) -> Store:
        return cast(Store, self)


class RaisingBroker(BrokerAdapter):
    """A ``PaperBroker`` that raises on orders whose quantity is ``bad_quantity``
    and on market events priced ``bad_price`` (before touching its book)."""

    def __init__(self, bad_quantity: Decimal, bad_price: Decimal, real: PaperBroker | None = None) -> None:
        self._real = real or PaperBroker()
        self._bad_quantity = bad_quantity
        self._bad_price = bad_price

    def submit(self, order: NewOrder, now_ns: int) -> None:
        if order.quantity == self._bad_quantity:
            raise ValueError(f"venue cannot take quantity {order.quantity}")
        self._real.submit(order, now_ns)

    def on_market(self, event: MarketEvent) -> None:
        price = event.price if isinstance(event, Tick) else event.open if isinstance(event, Bar) else None
        if price == self._bad_price:
            raise ArithmeticError(f"price {price} breaks the fill model")
        self._real.on_market(event)

    def cancel(self, client_order_id: str, now_ns: int, reason: str | None = None) -> bool:
        return self._real.cancel(client_order_id, now_ns, reason)

    def restore(self, order: NewOrder, history: Any) -> None:
        self._real.restore(order, history)

    def release(self, client_order_id: str) -> bool:
        return self._real.release(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[NewOrder]:
        return self._real.open_orders(symbol)

    def drain_reports(self) -> list[ExecutionReport]:
        return self._real.drain_reports()
