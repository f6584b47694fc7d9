"""``TradeGateway``: the gateway's threads, consumers and offsets.

Two loops, each in its own thread:

- **orders**: group ``trade_gateway`` (shared by every gateway process;
  partitions split among them), ``earliest`` for a new group: isolated records,
  settled outcomes, then committed offsets (``orders_loop.py``).
- **market**: its own group per process, ``latest``; feeds the paper broker.
  A batch whose fences or queued reports cannot be read is tried again (no
  event was applied yet); an event the broker raises on is dead-lettered and
  the rest of the batch applied.

A broker whose reports come between calls (``reports_async``: a real venue)
gets a third loop, **reports**: it waits for them and has the desk journal and
publish them (a journal that fails keeps them queued for the next pass).

On every change of the orders assignment the orders loop adopts the journal's
open orders of the portfolios that now map to its partitions and forgets those
that moved away, so that several gateways can share the group and a restart
picks up resting orders.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from livecore.control.halt import ClusterHalt, read_halt
from livecore.eventtime import EventClock
from livecore.faults import classify, describe
from livecore.gateway.broker import BrokerAdapter
from livecore.gateway.config import GatewayConfig, new_gateway_id
from livecore.gateway.desk import GatewayDesk
from livecore.gateway.fencing import FenceReader
from livecore.gateway.orders_loop import OrdersLoop, where
from livecore.gateway.paper import PaperBroker
from livecore.gateway.publisher import FeedbackPublisher
from livecore.gateway.stats import GatewayStats
from livecore.isolation import RecordGuard, backends_answer
from livecore.notify import NO_NOTICES, NoticeSink
from livecore.ports.bus import Bus, Consumer, OffsetReset, Record
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.topology import ensure_topics
from livecore.wire.names import Topics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatewayProgress:
    """What the gateway has finished, as a lockstep replay counts it: market
    events applied (their fills published), order records handled, feedback
    records published."""

    market_applied: int
    order_records: int
    feedback_published: int


class TradeGateway:
    """Collaborators are passed in; the gateway closes only what it opened
    (its producer and consumers), never the bus, coordination or store."""

    def __init__(
        self,
        bus: Bus,
        coord: Coordination,
        store: Store,
        config: GatewayConfig | None = None,
        broker: BrokerAdapter | None = None,
        clock: Callable[[], int] = time.time_ns,
        *,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        self.config = s = config or GatewayConfig()
        self.gateway_id = s.gateway_id or new_gateway_id()
        self.topics = Topics(s.topic_prefix)
        self._bus = bus
        self._store = store
        self._coord = coord
        self._clock = clock
        self._notices = notices
        self._broker = broker or PaperBroker(s.paper)
        self._fences = FenceReader(coord)
        self._publisher: FeedbackPublisher | None = None
        self._desk: GatewayDesk | None = None
        self._orders_loop: OrdersLoop | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._orders_assigned = threading.Event()
        self._market_assigned = threading.Event()
        self._started_ms = 0
        self._counters_logged = 0.0
        probe = backends_answer(store.ping, coord.ping, partial(bus.ping, s.probe_timeout_s))
        self._guards = {
            loop: RecordGuard(label=f"gateway {loop}", policy=s.record_retry, probe=probe, wait=self._stop.wait)
            for loop in ("orders", "market")
        }

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Create missing topics, open the producer and start both loops."""
        if self._threads:
            raise RuntimeError("gateway already started")
        s, t = self.config, self.topics
        ensure_topics(self._bus, t, s.topics)
        producer = self._bus.producer()
        self._publisher = FeedbackPublisher(
            producer=producer,
            journal=self._store.journal,
            feedback_topic=t.orders_feedback,
            policy=s.record_retry,
            component=s.component,
            notices=self._notices,
        )
        self._desk = GatewayDesk(
            broker=self._broker,
            journal=self._store.journal,
            fences=self._fences,
            publisher=self._publisher,
            topics=t,
            require_fence=s.require_fence,
            component=s.component,
            clock=self._clock,
            event_clock=EventClock() if s.event_time else None,
        )
        self._orders_loop = self._new_orders_loop()
        self._started_ms = self._clock() // 1_000_000
        self._broker.open()
        self._sync_halt()  # a cluster halted before this gateway started stays halted here
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._orders_loop.run, name=f"{self.gateway_id}-orders", daemon=True),
            threading.Thread(target=self._market_loop, name=f"{self.gateway_id}-market", daemon=True),
        ]
        if self._broker.reports_async:
            self._threads.append(
                threading.Thread(target=self._reports_loop, name=f"{self.gateway_id}-reports", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        log.info("gateway %s started (group %s)", self.gateway_id, s.group_id)

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the current batch, commit, close consumers and the producer."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        try:
            self._broker.close()
        except Exception:
            log.exception("gateway %s: broker did not close cleanly", self.gateway_id)
        if self._desk is not None and self._broker.reports_async:
            try:
                self._desk.pump_reports()  # what the venue said before it closed
            except Exception:
                log.exception("gateway %s: last venue reports not journaled", self.gateway_id)
        if self._publisher is not None:
            try:
                self._publisher.settle(self.config.publish_timeout_s)
            finally:
                self._publisher.close(self.config.publish_timeout_s)
                self._publisher = None
        log.info("gateway %s stopped: %s", self.gateway_id, self.stats)

    def run_until(self, stop_event: threading.Event) -> None:
        """Start, serve until ``stop_event`` is set, stop."""
        self.start()
        try:
            while not stop_event.wait(0.2):
                if not any(t.is_alive() for t in self._threads):
                    break
        finally:
            self.stop()

    def wait_ready(self, timeout: float) -> bool:
        """True once both consumers have partitions (market data and orders flow)."""
        deadline = time.monotonic() + timeout
        return self._orders_assigned.wait(timeout) and self._market_assigned.wait(max(0.0, deadline - time.monotonic()))

    def progress(self) -> GatewayProgress:
        """Counters a lockstep replay waits on (read them after the nodes')."""
        stats, publisher = self.stats, self._publisher
        published = 0 if publisher is None else publisher.published + publisher.republished
        return GatewayProgress(
            market_applied=stats.market_events, order_records=stats.order_records, feedback_published=published
        )

    def cancel_open_orders(self, reason: str) -> int:
        """Cancel every working order (a finite replay ended); their portfolios are told."""
        if self._desk is None:
            raise RuntimeError("gateway not started")
        return self._desk.cancel_open_orders(reason)

    @property
    def stats(self) -> GatewayStats:
        if self._desk is None:
            return GatewayStats()
        self._desk.stats.record_retries = sum(guard.retries for guard in self._guards.values())
        return self._desk.stats

    def counters(self) -> dict[str, int]:
        """What the gateway gave up on or holds back: zero in a healthy gateway.
        Logged every ``counters_log_interval_s`` while any is not zero."""
        stats, publisher = self.stats, self._publisher
        counters = {
            "failed_orders": stats.failed_orders,
            "failed_market": stats.failed_market,
            "failed_adoptions": stats.failed_adoptions,
            "rejected_halted": stats.rejected_halted,
            "give_up_failures": sum(guard.give_up_failures for guard in self._guards.values()),
        }
        if publisher is not None:
            counters |= {
                "feedback_dropped": publisher.dropped,
                "feedback_held": publisher.held_reports,
                "halted_portfolios": publisher.halted_portfolios,
                "feedback_undelivered": publisher.undelivered,
                "dead_letters_lost": publisher.lost_letters,
            }
        return counters

    def _log_counters(self) -> None:
        now = time.monotonic()
        if now < self._counters_logged + self.config.counters_log_interval_s:
            return
        self._counters_logged = now
        counters = self.counters()
        if any(counters.values()):
            level = (
                logging.ERROR if counters.get("feedback_held") or counters.get("halted_portfolios") else logging.WARNING
            )
            log.log(level, "gateway %s counters: %s", self.gateway_id, counters)

    @property
    def publisher(self) -> FeedbackPublisher | None:
        """The outcomes' journal-then-publish queue while started (its counters)."""
        return self._publisher

    @property
    def orders_partitions(self) -> frozenset[int]:
        """The ``orders`` partitions this gateway holds (empty until assigned)."""
        return frozenset() if self._orders_loop is None else self._orders_loop.assignment

    @property
    def broker(self) -> BrokerAdapter:
        return self._broker

    # --- loops ----------------------------------------------------------------------

    def _consumer(self, group: str, topic: str, reset: OffsetReset) -> Consumer:
        return self._bus.consumer(group, [topic], reset, self.config.consumer)

    def _new_orders_loop(self) -> OrdersLoop:
        assert self._desk is not None and self._publisher is not None
        s = self.config
        return OrdersLoop(
            gateway_id=self.gateway_id,
            config=s,
            topic=self.topics.orders,
            consumer=partial(self._consumer, s.group_id, self.topics.orders, "earliest"),
            desk=self._desk,
            publisher=self._publisher,
            guard=self._guards["orders"],
            stop=self._stop,
            assigned=self._orders_assigned,
            on_error=self._count_error,
            after_batch=self._log_counters,
        )

    def _market_loop(self) -> None:
        s = self.config
        group = f"{s.group_id}_md_{self.gateway_id}"
        consumer = self._consumer(group, self.topics.market_data, "latest")
        not_before = self._started_ms if s.drop_backlog else 0
        halt_due = time.monotonic() + s.halt_poll_s
        try:
            while not self._stop.is_set():
                try:
                    if time.monotonic() >= halt_due:
                        halt_due = time.monotonic() + s.halt_poll_s
                        self._sync_halt()
                    records = consumer.poll(s.max_batch, s.poll_timeout_s)
                    if consumer.assignment():
                        self._market_assigned.set()
                    if records:
                        self._handle_market(records, not_before)
                    elif self._publisher is not None and self._publisher.pending and self._desk is not None:
                        self._desk.flush_pending()  # reports left queued by a journal outage
                except Exception:
                    self._count_error("market")
                    self._stop.wait(s.retry_backoff_s)
        finally:
            consumer.close()

    def _reports_loop(self) -> None:
        """An asynchronous broker's reports: journaled and published as they come."""
        s = self.config
        while not self._stop.is_set():
            try:
                if self._broker.wait_reports(s.poll_timeout_s) and self._desk is not None:
                    self._desk.pump_reports()
            except Exception:
                self._count_error("reports")
                self._stop.wait(s.retry_backoff_s)

    def _handle_market(self, records: list[Record], not_before: int) -> None:
        """Decode once; apply the batch (tried again while a backend does not answer,
        since nothing was applied yet); dead-letter each record that raised."""
        assert self._desk is not None
        desk, guard = self._desk, self._guards["market"]
        events, sources, failed = desk.decode_market(records, not_before)
        if events:

            def apply() -> None:
                failed.extend((sources[index], exc) for index, exc in desk.on_market_events(events))

            def give_up(reason: str) -> None:
                for record in sources:
                    desk.market_failed(record, reason)

            guard.run(apply, give_up, f"market batch of {len(events)} events")
        for record, exc in failed:
            guard.dead_lettered += 1
            log.error(
                "gateway %s: market record %s failed, dead-lettered", self.gateway_id, where(record), exc_info=exc
            )
            desk.market_failed(record, f"{classify(exc).value}: {describe(exc)}")

    def _sync_halt(self) -> None:
        """Apply the cluster kill switch's state if it changed (raises if coordination
        does not answer: the loop logs it and tries again)."""
        assert self._desk is not None
        halt = read_halt(self._coord)
        if _halt_key(halt) == _halt_key(self._desk.cluster_halt):
            return
        cancelled = self._desk.set_cluster_halt(halt)
        if halt is None:
            log.warning("gateway %s: cluster resumed", self.gateway_id)
        else:
            log.warning(
                "gateway %s: cluster HALTED (%s): %d resting order(s) cancelled; only reducing orders admitted",
                self.gateway_id,
                halt.reason,
                cancelled,
            )

    def _count_error(self, loop: str) -> None:
        if self._desk is not None:
            self._desk.stats.loop_errors += 1
        log.exception("gateway %s: %s loop error (retrying)", self.gateway_id, loop)


def _halt_key(halt: ClusterHalt | None) -> tuple[str, bool] | None:
    return None if halt is None else (halt.reason, halt.flatten)
