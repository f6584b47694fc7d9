"""The desk's market-data part: decode market records, cancel resting orders
whose epoch went stale before any event can fill them, apply the events to the
broker in order (an event the broker raises on is skipped and returned, the
rest applied) and publish what they filled; and cancel what is still working
when a finite replay ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from livecore.gateway.desk_base import DeskBase
from livecore.gateway.fencing import is_stale
from livecore.ports.bus import Record
from livecore.wire.codec import MalformedMessage, market_events
from livecore.wire.messages import MarketEvent

log = logging.getLogger(__name__)


class MarketDesk(DeskBase):
    """Market records in, fills out (the desk's lock held while applying)."""

    def market_failed(self, record: Record, reason: str) -> None:
        """Dead-letter a market record whose handling raised."""
        with self._lock:
            self._publisher.dead_letter(self._topics.dlq(record.topic), self._letter(record, reason))
            self.stats.failed_market += 1

    def on_market_records(self, records: Iterable[Record], not_before_ms: int = 0) -> list[tuple[Record, Exception]]:
        """Decode and apply a batch; return the records whose decoding or event raised
        (the caller dead-letters them)."""
        events, sources, failed = self.decode_market(records, not_before_ms)
        if events:
            failed.extend((sources[index], exc) for index, exc in self.on_market_events(events))
        return failed

    def decode_market(
        self, records: Iterable[Record], not_before_ms: int = 0
    ) -> tuple[list[MarketEvent], list[Record], list[tuple[Record, Exception]]]:
        """Events with the record each came from, and the records whose decoding
        raised; malformed records are dead-lettered here, backlog dropped."""
        events: list[MarketEvent] = []
        sources: list[Record] = []
        failed: list[tuple[Record, Exception]] = []
        for record in records:
            if record.timestamp_ms < not_before_ms:
                self.stats.backlog_dropped += 1
                continue
            try:
                events.append(market_events.decode(record.value))
                sources.append(record)
            except MalformedMessage as exc:
                self.stats.malformed_market += 1
                with self._lock:
                    self._publisher.dead_letter(self._topics.dlq(record.topic), self._letter(record, exc.reason))
            except Exception as exc:
                failed.append((record, exc))
        return events, sources, failed

    def on_market_events(self, events: list[MarketEvent]) -> list[tuple[int, Exception]]:
        """Apply events in order; an event the broker raises on is skipped and
        returned with its index. Raises only before the first event is applied."""
        with self._lock:
            self._fences.begin_batch()
            self._publisher.flush_pending()
            if self._event_clock is not None:
                self._event_clock.observe(max(event.ts_ns for event in events))
            now = self._clock()
            for symbol in {event.symbol for event in events}:
                for order in self._broker.open_orders(symbol):
                    if is_stale(order.epoch, self._fences.fence(order.portfolio_id)):
                        self._broker.cancel(order.client_order_id, now, "stale_epoch")
                        self.stats.stale_resting_cancelled += 1
            failed: list[tuple[int, Exception]] = []
            for index, event in enumerate(events):
                try:
                    self._broker.on_market(event)
                except Exception as exc:
                    failed.append((index, exc))
            try:
                self._publisher.emit(self._broker.drain_reports())
            except Exception as exc:  # the events are applied: never hand them in again
                log.warning("market reports queued until the journal answers: %s", exc)
            self.stats.market_events += len(events)  # after their reports: a replay waits on it
            return failed

    def cancel_open_orders(self, reason: str) -> int:
        """Cancel every order still working (a finite replay ended: nothing can fill
        them any more); return the count. Their portfolios are told as usual."""
        with self._lock:
            self._publisher.flush_pending()
            now = self._clock()
            cancelled = sum(
                1 for order in self._broker.open_orders() if self._broker.cancel(order.client_order_id, now, reason)
            )
            self.stats.end_of_data_cancelled += cancelled
            self._publisher.emit(self._broker.drain_reports())
            return cancelled
