"""How an ``ExecutionNode`` is put together: every collaborator built once, by
keyword, in one place.

``NodeParts`` builds the parts without starting anything (no thread, no
connection). What the parts need from the node itself is passed in as three
callables: ``running`` (the node's run flag, which every loop polls),
``producer`` (the producer of the current run, ``None`` while stopped) and
``control`` (the node, as the ``NodeControl`` that commands act on).

Who owns what:

- ``HostedPortfolios`` owns the hosted-portfolio table and its lock;
- ``PortfolioHosting`` is its only writer (load, unload, migrate, drop, stop);
- the market and feedback loops look processors up in it; the heartbeat and
  the node's status walk it through hosting's queries;
- ``MarketAssignment`` decides which ``market.data`` partitions the market loop
  reads, from the InterestMap; hosting asks it to follow each change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from livecore.errors import ConfigError
from livecore.eventtime import EventClock
from livecore.isolation import backends_answer
from livecore.node.assignment import MarketAssignment
from livecore.node.commands import CommandDispatcher, NodeControl
from livecore.node.config import NodeConfig
from livecore.node.deadletter import DeadLetters
from livecore.node.factory import PortfolioFactory
from livecore.node.feedback import FeedbackLoop
from livecore.node.fencewatch import FenceWatch
from livecore.node.gate import MarketGate
from livecore.node.halt import ClusterHaltSwitch
from livecore.node.hosting import PortfolioHosting
from livecore.node.interest import InterestMap
from livecore.node.latency import LatencyRecorder
from livecore.node.loop import LoopSettings
from livecore.node.market import MarketDataLoop
from livecore.node.orders import OrderSender
from livecore.node.schedule import ScheduleUpdatesLoop
from livecore.node.table import HostedPortfolios
from livecore.node.workers import WorkerPool
from livecore.notify import NO_NOTICES, NoticeSink
from livecore.ports.bus import Bus, Consumer, ConsumerSettings, Producer
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.wire import names
from livecore.wire.names import Topics
from livecore.wire.signing import CommandVerifier

# how often a load waiting for the feedback consumer looks at the run flag again
_READY_POLL_S = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeServices:
    """The ports and identity every part shares, and where operator notices go."""

    node_id: str
    config: NodeConfig
    topics: Topics
    bus: Bus
    coord: Coordination
    store: Store
    notices: NoticeSink = NO_NOTICES


class NodeParts:
    """Everything an ``ExecutionNode`` runs, built but not started."""

    def __init__(
        self,
        *,
        services: NodeServices,
        secret: str | bytes,
        factory: PortfolioFactory,
        control: NodeControl,
        running: Callable[[], bool],
        producer: Callable[[], Producer | None],
        market_gate: MarketGate | None = None,
    ) -> None:
        s, cfg = services, services.config
        self.portfolios = HostedPortfolios(node_id=s.node_id)
        self.interest = InterestMap()
        self.latency = LatencyRecorder()  # tick -> order: workers observe it concurrently
        self.sender = OrderSender(
            topic=s.topics.orders, retry_interval_s=cfg.order_retry_interval_s, latency=self.latency
        )
        self.pool = WorkerPool(name=f"portfolio_worker_{s.node_id}", workers=cfg.workers, batch=cfg.worker_batch)
        self.halt = ClusterHaltSwitch(coord=s.coord, processors=self.portfolios.processors)
        self.dead_letters = DeadLetters(topics=s.topics, component=f"node:{s.node_id}", producer=producer)
        # in event time the node's "now" is the latest event it has seen
        self.event_clock = EventClock() if cfg.event_time else None
        if market_gate is not None and not cfg.event_time:
            raise ConfigError("a market gate paces event time: it needs NodeConfig.event_time")
        self.market = MarketAssignment(
            interest=self.interest,
            partition_count=lambda: s.bus.partition_count(s.topics.market_data),
            # a lockstep gate counts every record of the topic in publication order
            all_partitions=cfg.all_market_partitions or market_gate is not None,
        )
        self.hosting = self._hosting(s, factory, running)
        settings = _loop_settings(s)
        self.market_loop = self._market_loop(s, settings, running, market_gate)
        self.feedback_loop = self._feedback_loop(s, settings, running)
        self.dispatcher = CommandDispatcher(
            node_id=s.node_id,
            control=control,
            verifier=CommandVerifier(secret, max_age_s=cfg.command_max_age_s),
            coord=s.coord,
            audit=s.store.audit,
            dead_letters=self.dead_letters,
            ack_ttl_s=cfg.command_ack_ttl_s,
        )
        self.fence_watch = FenceWatch(
            node_id=s.node_id,
            coord=s.coord,
            preparations=self.hosting.prepared,
            load=control.load_portfolio,
            answer=self.dispatcher.answer_early,
        )
        self.schedule_loop = ScheduleUpdatesLoop(
            consumer_factory=_consumers(s, None, s.topics.schedule_updates),
            should_run=running,
            settings=settings,
            dispatcher=self.dispatcher,
            dead_letters=self.dead_letters,
            fence_watch=self.fence_watch,
        )

    def _hosting(self, s: NodeServices, factory: PortfolioFactory, running: Callable[[], bool]) -> PortfolioHosting:
        return PortfolioHosting(
            node_id=s.node_id,
            config=s.config,
            coord=s.coord,
            store=s.store,
            factory=factory,
            interest=self.interest,
            portfolios=self.portfolios,
            sender=self.sender,
            pool=self.pool,
            halt=self.halt,
            notices=s.notices,
            now_ns=_wall_or(self.event_clock),
            # a load waits until the feedback consumer has its start position
            feedback_ready=lambda timeout: _wait_ready(self.feedback_loop.ready, running, timeout),
            # ... and until the market consumer reads the partitions of its symbols
            market_ready=lambda timeout: self.market.update(timeout, running),
            market_changed=self.market.update,
        )

    def _market_loop(
        self, s: NodeServices, settings: LoopSettings, running: Callable[[], bool], gate: MarketGate | None
    ) -> MarketDataLoop:
        return MarketDataLoop(
            consumer_factory=lambda: s.bus.assigned_consumer(s.topics.market_data, _market_consumer(s.config)),
            should_run=running,
            settings=settings,
            interest=self.interest,
            portfolios=self.portfolios,
            dead_letters=self.dead_letters,
            service=self.sender.service,
            max_age_s=s.config.max_tick_age_s,
            event_clock=self.event_clock,
            gate=gate,
            assignment=self.market,
        )

    def _feedback_loop(self, s: NodeServices, settings: LoopSettings, running: Callable[[], bool]) -> FeedbackLoop:
        return FeedbackLoop(
            consumer_factory=_consumers(s, "feedback", s.topics.orders_feedback),
            should_run=running,
            settings=settings,
            topic=s.topics.orders_feedback,
            portfolios=self.portfolios,
            is_loading=self.hosting.is_loading,
            dead_letters=self.dead_letters,
            on_given_up=self.hosting.isolate,
            request_due_snapshots=self.hosting.callbacks.deferred.request_due,
        )


def _market_consumer(cfg: NodeConfig) -> ConsumerSettings:
    """The node's consumer settings, with the market consumer's own fetch wait."""
    if cfg.market_fetch_wait_ms is None:
        return cfg.consumer
    return replace(cfg.consumer, fetch_wait_max_ms=cfg.market_fetch_wait_ms)


def _wall_or(clock: EventClock | None) -> Callable[[], int]:
    """The node's "now" in ns: the event clock once it has seen an event, else the wall."""
    if clock is None:
        return time.time_ns
    return lambda: clock() or time.time_ns()


def _loop_settings(s: NodeServices) -> LoopSettings:
    """One setting for all three loops: a loop waits on a backend only while it does
    not answer its ping."""
    cfg = s.config
    return LoopSettings(
        poll_batch=cfg.poll_batch,
        poll_timeout_s=cfg.poll_timeout_s,
        policy=cfg.record_retry,
        probe=backends_answer(s.coord.ping, s.store.ping),
    )


def _consumers(s: NodeServices, suffix: str | None, topic: str) -> Callable[[], Consumer]:
    """A consumer of ``topic`` in the node's group (``execution_node_{id}[.suffix]``),
    created on the loop's own thread when it starts."""
    group = names.node_group_id(s.node_id)
    group_id = group if suffix is None else f"{group}.{suffix}"

    def create() -> Consumer:
        return s.bus.consumer(group_id, [topic], "latest", s.config.consumer)

    return create


def _wait_ready(ready: threading.Event, running: Callable[[], bool], timeout: float) -> bool:
    """True once the feedback consumer is positioned; False if the node stops or
    ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while running() and time.monotonic() < deadline:
        if ready.wait(min(_READY_POLL_S, timeout)):
            return True
    return False
