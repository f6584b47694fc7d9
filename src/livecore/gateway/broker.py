"""The broker adapter interface: how the gateway talks to a venue.

A venue receives orders and cancels and produces execution reports
(``OrderFeedback``: accepted, rejected, partially filled, filled, cancelled).
Reports are collected by the adapter and handed over by ``drain_reports`` in
the order they happened; the gateway journals each one before publishing it.

``PaperBroker`` (``gateway/paper.py``) fills against the market data the
gateway feeds it through ``on_market``: its reports are ready when the call
that caused them returns. ``CcxtBroker`` (``venues/ccxt/broker.py``) talks to
a real venue from a network thread of its own: its reports come at any time
(``reports_async``), the gateway waits for them with ``wait_reports`` on a
loop of its own and drains them (``drain_reports`` is then thread-safe).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from livecore.wire.messages import FeedbackStatus, MarketEvent, NewOrder, OrderFeedback

ExecutionReport = OrderFeedback


class BrokerAdapter(ABC):
    """One venue. Calls come from one thread at a time (the gateway serialises them)."""

    reports_async: bool = False  # reports also come between calls: the gateway waits for them

    @abstractmethod
    def submit(self, order: NewOrder, now_ns: int) -> None:
        """Send ``order``; its ``accepted`` (or ``rejected``) report follows in
        ``drain_reports``. The gateway never submits a client order id twice."""

    @abstractmethod
    def cancel(self, client_order_id: str, now_ns: int, reason: str | None = None) -> bool:
        """Cancel an open order; False if it is not open (unknown or already final).
        A ``cancelled`` report carrying ``reason`` follows in ``drain_reports``."""

    @abstractmethod
    def restore(self, order: NewOrder, history: Sequence[OrderFeedback]) -> None:
        """Re-open ``order`` after a gateway restart, with the outcomes journaled so
        far (fills included), so that fill numbering and costs continue."""

    @abstractmethod
    def release(self, client_order_id: str) -> bool:
        """Forget an open order without a report: another gateway took over its
        portfolio (it restores the order from the journal). False if not open."""

    @abstractmethod
    def open_orders(self, symbol: str | None = None) -> list[NewOrder]:
        """Orders accepted and not final, in arrival order (optionally for one symbol)."""

    @abstractmethod
    def drain_reports(self) -> list[ExecutionReport]:
        """Reports produced since the last call, in the order they happened."""

    def lookup(self, client_order_id: str) -> FeedbackStatus | None:
        """The last status the venue reported for ``client_order_id``, or None when
        the venue never received it. Asked before anything is done again for an
        order that is journaled but has no outcome: a known order is never resent.
        An adapter that cannot tell raises (the order is then given up, not resent)."""
        raise NotImplementedError(f"{type(self).__name__} cannot look orders up")

    def on_market(self, event: MarketEvent) -> None:  # noqa: B027 - optional hook
        """A market event seen by the gateway; venues with their own matching ignore it."""

    def track(self, order: NewOrder) -> None:  # noqa: B027 - optional hook
        """``order`` is journaled without an outcome and ``lookup`` found it at the venue:
        follow it, so that its outcomes are reported. The paper broker's outcomes of
        such an order are already queued in this process: nothing to do."""

    def open(self) -> None:  # noqa: B027 - optional hook
        """Connect before the gateway's loops start (a venue: markets, streams)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Disconnect after the gateway's loops stopped."""

    def wait_reports(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for reports (``reports_async`` brokers); True if some wait."""
        raise NotImplementedError(f"{type(self).__name__} reports only when called")
