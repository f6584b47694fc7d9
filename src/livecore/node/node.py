"""ExecutionNode: the seed's runtime container for portfolios.

Construction only prepares structures (no thread, no connection): the
collaborators are built by ``node/assembly.py`` and the hosted-portfolio table
is a ``HostedPortfolios`` (``node/table.py``), read-only here. ``start``
claims the node id, creates the producer and starts the seed's four threads
(``heartbeat_{id}``, ``schedule_updates_{id}``, ``market_data_{id}``,
``order_feedback_{id}``) plus a small worker pool that runs the portfolios.
``stop`` follows the seed's order: drop the run flag, join the heartbeat,
stop every processor (drain, final snapshot), join the consumers, close the
producer; it may be called from any thread, including a command handler on
the schedule thread, and a stopped node can start again.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

from livecore.control.metrics import NodeMetrics
from livecore.errors import ConfigError
from livecore.node.assembly import NodeParts, NodeServices
from livecore.node.commands import CommandFailed, ExpectedLoad
from livecore.node.config import NodeConfig
from livecore.node.errors import NodeAlreadyRunning
from livecore.node.factory import DomainPortfolios, PortfolioFactory
from livecore.node.gate import MarketGate, NodeProgress
from livecore.node.heartbeat import Heartbeat, WatchedLoop
from livecore.node.loop import ConsumerLoop
from livecore.node.metrics import NodeStats, iso_now
from livecore.node.session import NodeSession
from livecore.notify import NO_NOTICES, NoticeSink
from livecore.ports.bus import Bus, Producer
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.topology import ensure_topics
from livecore.wire import names
from livecore.wire.names import Topics

log = logging.getLogger(__name__)

_STOP_WAIT_S = 60.0


class ExecutionNode:
    """Hosts many portfolios; see the module docstring and docs/NODE.md."""

    def __init__(
        self,
        node_id: str,
        *,
        bus: Bus,
        coord: Coordination,
        store: Store,
        config: NodeConfig | None = None,
        secret: str | bytes = "",
        portfolio_factory: PortfolioFactory | None = None,
        market_gate: MarketGate | None = None,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        """``market_gate``: only a lockstep replay's (needs ``config.event_time``)."""
        if not node_id or any(ch.isspace() for ch in node_id):
            raise ConfigError(f"bad node id {node_id!r}: must be non-empty without spaces")
        if not secret:
            raise ConfigError("an ExecutionNode needs the command-signing secret")
        self.node_id = node_id
        self.config = config or NodeConfig()
        self.topics = Topics(self.config.topic_prefix)
        self.is_running = False
        self.heartbeat_interval = self.config.heartbeat_interval
        self.heartbeat_ttl = self.config.heartbeat_ttl
        self._bus = bus
        self._coord = coord
        self._notices = notices
        self._producer: Producer | None = None
        self._claim_value = ""
        self._started_at = ""
        self._threads: dict[str, threading.Thread] = {}
        self._heartbeat: Heartbeat | None = None
        self._session = NodeSession(node_id=node_id, coord=coord)
        self._stop_event = threading.Event()
        self._lifecycle = threading.Lock()
        self._stopping: threading.Thread | None = None
        self.stopped = threading.Event()
        self.stopped.set()
        parts = NodeParts(
            services=NodeServices(
                node_id=node_id,
                config=self.config,
                topics=self.topics,
                bus=bus,
                coord=coord,
                store=store,
                notices=notices,
            ),
            secret=secret,
            factory=portfolio_factory or DomainPortfolios(),
            control=self,
            running=self._running,
            producer=lambda: self._producer,
            market_gate=market_gate,
        )
        self.portfolios = parts.portfolios  # the hosted-portfolio table: read it, never change it
        self.interest_map = parts.interest
        self.latency = parts.latency
        self._sender, self._pool, self._dead_letters = parts.sender, parts.pool, parts.dead_letters
        self._hosting = parts.hosting
        self._halt = parts.halt
        self.market_loop, self.feedback_loop = parts.market_loop, parts.feedback_loop
        self._market = parts.market
        self.dispatcher, self.schedule_loop = parts.dispatcher, parts.schedule_loop

    # --- seed counters ------------------------------------------------------------------

    @property
    def total_event_count(self) -> int:
        """Market-data and order-feedback messages consumed."""
        return self.market_loop.events + self.feedback_loop.events

    @property
    def backpressure_count(self) -> int:
        """Events that met a full mailbox (conflated ticks + feedback that had to wait)."""
        return self.market_loop.conflated + self.feedback_loop.waits

    @property
    def dropped_event_count(self) -> int:
        """Market events replaced by a newer one for the same symbol (conflation)."""
        return self.market_loop.conflated

    @property
    def orders_delivered(self) -> int:
        """Orders the bus confirmed."""
        return self._sender.delivered

    @property
    def order_failures(self) -> int:
        """Order deliveries that failed (each is retried)."""
        return self._sender.failures

    @property
    def market_partitions(self) -> frozenset[int]:
        """The partitions of ``market.data`` the node reads now."""
        return self._market.partitions

    @property
    def paused(self) -> bool:
        return self._hosting.paused

    @property
    def ready(self) -> bool:
        """Running, consumers positioned and the heartbeat written."""
        return self.is_running and self._heartbeat is not None and self._heartbeat.announced

    @property
    def dead_letter_count(self) -> int:
        return self._dead_letters.count

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._stopping is not None and self._stopping is not threading.current_thread():
            self.stopped.wait(_STOP_WAIT_S)  # a stop in progress finishes first
        with self._lifecycle:
            if self.is_running:
                log.warning("node %s is already running; start() ignored", self.node_id)
                return
            self._connect()
            if self.config.gil_switch_interval_s is not None:
                sys.setswitchinterval(self.config.gil_switch_interval_s)
            self._stop_event.clear()
            self.stopped.clear()
            self.is_running = True
            self._started_at = iso_now()
            self._pool.start()
            self._heartbeat = self._new_heartbeat()
            # every thread exists before any starts: the heartbeat watches the other three
            self._threads = {"heartbeat": self._thread("heartbeat", self._heartbeat.run)}
            for label, loop in (
                ("schedule_updates", self.schedule_loop),
                ("market_data", self.market_loop),
                ("order_feedback", self.feedback_loop),
            ):
                loop.reset()
                self._threads[label] = self._thread(label, loop.run)
            for thread in self._threads.values():  # seed order: heartbeat, schedule, market, feedback
                thread.start()
            log.info(
                "node %s started (%d workers, capacity %d)", self.node_id, self.config.workers, self.config.capacity
            )

    def _new_heartbeat(self) -> Heartbeat:
        return Heartbeat(
            node_id=self.node_id,
            config=self.config,
            coord=self._coord,
            hosting=self._hosting,
            claim_value=self._claim_value,
            stats=self._stats,
            loops=self._watched_loops,
            stop_event=self._stop_event,
            on_claim_lost=self._claim_lost,
            bus_health=self._bus.health,
            halt_sync=self._halt.sync,
            session_token=self._session.token,
            notices=self._notices,
        )

    def _connect(self) -> None:
        """Topics, claim, producer: everything that can refuse a start, before any thread."""
        if self.config.create_topics:
            ensure_topics(self._bus, self.topics, self.config.topic_layout)
        key = names.node_claim_key(self.node_id)
        self._claim_value = f"{uuid.uuid4().hex}"
        if not self._coord.claim(key, self._claim_value, self.heartbeat_ttl):
            raise NodeAlreadyRunning(
                f"node {self.node_id} is already running in another process (claim {key} is held); "
                f"stop it first or wait {self.heartbeat_ttl:g}s after it died"
            )
        try:
            self._producer = self._bus.producer(linger_ms=self.config.producer_linger_ms)
        except Exception:
            self._coord.release_claim(key, self._claim_value)
            raise
        self._sender.attach(self._producer)
        self._session.open()  # before the first heartbeat: a node seen alive has a session to watch

    def stop(self) -> None:
        """Stop (idempotent). A call while another thread is stopping waits for it."""
        current = threading.current_thread()
        with self._lifecycle:
            proceed = self.is_running
            if proceed:
                self.is_running = False
                self._stopping = current
            other_stopping = self._stopping is not None and self._stopping is not current
        if not proceed:
            if other_stopping:
                self.stopped.wait(_STOP_WAIT_S)
            return
        try:
            self._shutdown(current)
        finally:
            self._stopping = None
            self.stopped.set()

    def _shutdown(self, current: threading.Thread) -> None:
        timeout = self.config.join_timeout_s
        self._stop_event.set()
        self._join("heartbeat", timeout, current)
        saved = self._hosting.close_all()
        for label in ("schedule_updates", "market_data", "order_feedback"):
            self._join(label, timeout, current)
        self._pool.stop(timeout)
        producer, self._producer = self._producer, None
        self._sender.attach(None)
        if producer is not None:
            try:
                producer.close(timeout)
            except Exception:
                log.exception("node %s: closing the producer failed", self.node_id)
        self._forget_presence()
        log.info("node %s stopped (%d portfolio snapshots saved)", self.node_id, saved)

    def _forget_presence(self) -> None:
        """Heartbeat and metrics gone, claim released, session closed: the scheduler
        sees the stop at once."""
        node = self.node_id
        try:
            self._coord.delete(names.heartbeat_key(node))
            self._coord.delete(names.metrics_key(node))
            self._coord.release_claim(names.node_claim_key(node), self._claim_value)
        except Exception:
            log.exception("node %s: clean-up in the coordination store failed", node)
        self._session.close()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self.stopped.wait(timeout)

    # --- NodeControl (what commands may do) -------------------------------------------------

    def load_portfolio(self, portfolio_id: str, epoch: int, spec_toml: str | None = None) -> str:
        self._require_running()
        return self._hosting.load(portfolio_id, epoch, spec_toml)

    def unload_portfolio(self, portfolio_id: str) -> str:
        return self._hosting.unload(portfolio_id)

    def reload_portfolio(self, portfolio_id: str) -> str:
        return self._hosting.reload(portfolio_id)

    def migrate_portfolio(self, portfolio_id: str, to_node: str) -> str:
        return self._hosting.migrate(portfolio_id, to_node)

    def prepare_portfolio(self, portfolio_id: str, hold_s: float, load: ExpectedLoad | None = None) -> str:
        return self._hosting.prepare(portfolio_id, hold_s, load)

    @property
    def prepared(self) -> frozenset[str]:
        """The portfolios prepared here for a coming load (``node/prepared.py``)."""
        return self._hosting.prepared.held()

    def pause(self) -> str:
        return self._hosting.pause()

    def resume(self) -> str:
        return self._hosting.resume()

    # --- observation ---------------------------------------------------------------------------

    def sync_cluster_halt(self) -> str:
        """Apply the cluster's halt state (the kill switch) to every hosted portfolio."""
        self._require_running()
        return self._halt.sync()

    def in_flight_market_orders(self) -> int:
        """Market orders the hosted portfolios have sent and not yet seen final."""
        return self.portfolios.in_flight_market_orders()

    def progress(self) -> NodeProgress:
        """Counters a lockstep replay waits on (read them after the gateway's)."""
        idle = all(p.mailbox.idle for p in self.portfolios.processors())
        return NodeProgress(
            market_settled=self.market_loop.settled,
            feedback_settled=self.feedback_loop.settled,
            orders_sent=self._sender.sent,
            idle=idle,
        )

    def status(self) -> dict[str, Any]:
        """A small summary for the CLI status line."""
        p50 = self.latency.quantile(0.5)
        p99 = self.latency.quantile(0.99)
        return {
            "node_id": self.node_id,
            "state": "stopped" if not self.is_running else ("paused" if self.paused else "running"),
            "ready": self.ready,
            "portfolios": len(self.portfolios),
            "events": self.total_event_count,
            "conflated": self.dropped_event_count,
            "stale": self.market_loop.stale,
            "read_amplification": self.market_loop.read_amplification,
            "market_partitions": sorted(self._market.partitions),
            "orders": self._sender.delivered,
            "dead_letters": self._dead_letters.count,
            "latency_p50_us": None if p50 is None else p50 * 1e6,
            "latency_p99_us": None if p99 is None else p99 * 1e6,
        }

    def _stats(self) -> NodeStats:
        processors = self._hosting.processors()
        return NodeStats(
            portfolio_epochs={p.portfolio_id: p.epoch for p in processors},
            queue_sizes=[len(p.mailbox) for p in processors],
            total_events=self.total_event_count,
            backpressure_count=self.backpressure_count,
            dropped_events=self.dropped_event_count,
            paused=self.paused,
            started_at=self._started_at,
            capacity=self.config.capacity,
            counters=NodeMetrics(
                faulted=sum(1 for p in processors if p.faulted),
                stale_events=self.market_loop.stale,
                dead_letters=self._dead_letters.count,
                offer_errors=self.market_loop.offer_errors,
                orders_sent=self._sender.delivered,
                order_failures=self._sender.failures,
                feedback_ignored=self.feedback_loop.ignored,
                commands_refused=self.dispatcher.refused,
                commands_replayed=self.dispatcher.replayed,
                workers=self.config.workers,
                cluster_halted=self._halt.halted,
                market_time_ns=self.market_loop.market_time_ns or None,
                market_events=self.market_loop.events,
                routed_events=self.market_loop.routed,
                read_amplification=self.market_loop.read_amplification,
                market_partitions=len(self._market.partitions),
                market_partitions_total=self._market.partition_count or None,
                loops=self._loop_counters(),
            ),
        )

    # --- internals ---------------------------------------------------------------------------------

    def _loop_counters(self) -> dict[str, int]:
        """Per consumer loop: records dead-lettered because handling raised, and retries."""
        out: dict[str, int] = {}
        for loop in (self.schedule_loop, self.market_loop, self.feedback_loop):
            out[names.loop_failed_field(loop.label)] = loop.guard.dead_lettered
            out[names.loop_retries_field(loop.label)] = loop.guard.retries
            out[names.loop_errors_field(loop.label)] = loop.errors
        return out

    def _running(self) -> bool:
        return self.is_running

    def _require_running(self) -> None:
        if not self.is_running:
            raise CommandFailed(f"node {self.node_id} is not running")

    def _watched_loops(self) -> list[WatchedLoop]:
        loops: list[tuple[str, ConsumerLoop]] = [
            ("schedule_updates", self.schedule_loop),
            ("market_data", self.market_loop),
            ("order_feedback", self.feedback_loop),
        ]
        return [WatchedLoop(loop, self._threads[label]) for label, loop in loops if label in self._threads]

    def _thread(self, label: str, target: Callable[[], None]) -> threading.Thread:
        return threading.Thread(target=target, name=f"{label}_{self.node_id}", daemon=True)

    def _join(self, label: str, timeout: float, current: threading.Thread) -> None:
        thread = self._threads.get(label)
        if thread is None or thread is current:
            return
        thread.join(timeout)
        if thread.is_alive():
            log.warning("node %s: thread %s did not stop within %.1fs", self.node_id, thread.name, timeout)

    def _claim_lost(self) -> None:
        self.stop()
