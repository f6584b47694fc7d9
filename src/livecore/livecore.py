"""LiveCore: the whole system in one process.

``LiveCore().start()`` (the seed's integrated start) opens the backends named by
the settings (in-process bus and coordination plus a SQLite file by default),
creates the topics, deploys the portfolio specs into the registry, and starts
the paper gateway, the execution nodes, the scheduler and a market data feed.
Pointed at ``kafka://``, ``redis://`` and ``postgresql://`` URLs, the same
composition runs on real infrastructure.

LiveCore owns no business rule: it wires services together and stops them in
an order that loses nothing (see ``stop``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.checks import at_least, non_negative, positive
from livecore.config import DeploymentSettings
from livecore.control.commands import CommandChannel
from livecore.errors import ConfigError
from livecore.feed.bundled import bundled_data_dir
from livecore.feed.config import FeedConfig
from livecore.feed.readers import ReplayData, load_replay
from livecore.feed.runner import FeedRunner, ReplayPosition, Scheduled, replay_schedule
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings
from livecore.feed.telemetry import export_feed
from livecore.gateway.config import GatewayConfig
from livecore.gateway.paper import END_OF_DATA
from livecore.gateway.service import TradeGateway
from livecore.gateway.telemetry import export_gateway
from livecore.lockstep import Lockstep, Quiet, Snapshot, settled
from livecore.node import ExecutionNode, NodeConfig
from livecore.node.gate import MarketGate
from livecore.node.telemetry import export_node
from livecore.notify import NO_NOTICES, NoticeSink, Notifier, notify_settings
from livecore.ops import Ops, OpsConfig
from livecore.ops import deploy as ops_deploy
from livecore.ops import status as ops_status
from livecore.ops.status import StatusReport
from livecore.ports.bus import Bus, Producer
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.service import Scheduler
from livecore.scheduler.telemetry import export_scheduler
from livecore.topology import DEFAULT_LAYOUT, TopicLayout, ensure_topics
from livecore.wire.messages import OrderType
from livecore.wire.names import Topics
from livecore.wire.signing import CommandSigner

log = logging.getLogger(__name__)

_EVERY_RECORD = 2**63 - 1
FEED_NAME = "livecore-feed"  # its thread, and its label on /metrics

# One bundled trading day every 20 ms: the three years of daily bars take about 20 s.
DEFAULT_REPLAY_SPEED = 86_400 * 50.0


def example_portfolio_dir() -> Path | None:
    """``examples/portfolios`` of the working directory or of the source checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base / "examples" / "portfolios"
        if candidate.is_dir():
            return candidate
    return None


_SYNTHETIC = SyntheticSettings()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayPlan:
    """Replay CSV/Parquet bars or ticks; ``path`` None = the bundled daily dataset.

    ``event_time``: keep the data's timestamps (the nodes' stale-tick guard and
    the gateway's clock follow them). With ``speed`` 0 and no ``loop`` as well the
    replay runs in lockstep (``lockstep.py``): the live path takes every event
    time in the order a backtest does, so both give the same orders and fills.
    """

    path: Path | None = None
    speed: float = DEFAULT_REPLAY_SPEED
    loop: bool = True
    event_time: bool = False

    def __post_init__(self) -> None:
        non_negative(self, "speed")

    @property
    def lockstep(self) -> bool:
        return self.event_time and self.speed == 0 and not self.loop


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticPlan:
    """Geometric-Brownian-motion ticks for ``symbols`` symbols at ``rate`` events/s."""

    symbols: int = _SYNTHETIC.symbols
    rate: float = _SYNTHETIC.rate
    seed: int = _SYNTHETIC.seed

    def __post_init__(self) -> None:
        at_least(self, 1, "symbols")
        positive(self, "rate")


FeedPlan = ReplayPlan | SyntheticPlan | None


# One process: a GC pause or a loaded machine stalls the nodes' heartbeat threads and
# the scheduler together. The heartbeat TTL rides out a stall of up to TTL - interval
# (9 s); beyond that, the scheduler notices its own stall and presumes the nodes it saw
# alive for EMBEDDED_STALL_GRACE_S more (scheduler/stall.py), time enough to beat again.
EMBEDDED_HEARTBEAT_INTERVAL_S = 1.0
EMBEDDED_HEARTBEAT_TTL_S = 10.0
EMBEDDED_STALL_THRESHOLD_S = 1.0
EMBEDDED_STALL_GRACE_S = 10.0


def _embedded_node_config() -> NodeConfig:
    # fast heartbeats keep `status` fresh at no real cost
    return NodeConfig(
        heartbeat_interval=EMBEDDED_HEARTBEAT_INTERVAL_S,
        heartbeat_ttl=EMBEDDED_HEARTBEAT_TTL_S,
        snapshot_interval_s=5.0,
    )


def _embedded_scheduler_config() -> SchedulerConfig:
    return SchedulerConfig(
        scheduler_id="livecore-scheduler",
        tick_interval=0.5,
        lease_ttl=3.0,
        load_timeout=5.0,
        stall_threshold=EMBEDDED_STALL_THRESHOLD_S,
        stall_grace=EMBEDDED_STALL_GRACE_S,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCoreConfig:
    """What ``LiveCore`` starts. ``portfolio_files`` empty = the example specs.

    ``ready_timeout_s``: how long ``start`` waits for every deployed portfolio to
    be loaded before the feed starts (so no portfolio misses the first bars).
    ``drain_timeout_s``: how long ``stop`` lets in-flight orders come back filled.
    ``settle_timeout_s``: how long a replay waits for the system to finish with
    one event time (lockstep) or with the data (end of a finite replay) before it
    logs a warning and goes on.
    """

    nodes: int = 2
    node_prefix: str = "node"
    node: NodeConfig = field(default_factory=_embedded_node_config)
    scheduler: SchedulerConfig = field(default_factory=_embedded_scheduler_config)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    topics: TopicLayout = DEFAULT_LAYOUT
    feed: FeedPlan = field(default_factory=ReplayPlan)
    portfolio_files: tuple[Path, ...] = ()
    ready_timeout_s: float = 30.0
    drain_timeout_s: float = 5.0
    settle_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        non_negative(self, "nodes", "ready_timeout_s", "drain_timeout_s", "settle_timeout_s")


def _spec_files(config: LiveCoreConfig) -> list[Path]:
    files: list[Path] = []
    sources: Iterable[Path] = config.portfolio_files
    if not config.portfolio_files:
        examples = example_portfolio_dir()
        if examples is None:
            raise ConfigError("no portfolio specs given and no examples/portfolios directory found")
        sources = (examples,)
    for source in sources:
        if source.is_dir():
            files.extend(sorted(source.glob("*.toml")))
        elif source.is_file():
            files.append(source)
        else:
            raise ConfigError(f"portfolio spec {source} does not exist")
    if not files:
        raise ConfigError(f"no *.toml portfolio specs in {', '.join(str(s) for s in sources)}")
    return files


def _feed_schedule(
    plan: ReplayPlan | SyntheticPlan, position: ReplayPosition
) -> tuple[Iterator[Scheduled], int | None, ReplayData | None]:
    """The feed's schedule, its length when finite, and the replayed data."""
    if isinstance(plan, ReplayPlan):
        data = load_replay(plan.path or bundled_data_dir())
        total = None if plan.loop else len(data.events)
        events = replay_schedule(data, plan.speed, plan.loop, shift_passes=plan.event_time, position=position)
        return events, total, data
    feed = SyntheticFeed(SyntheticSettings(symbols=plan.symbols, rate=plan.rate, seed=plan.seed))
    return feed.events(), None, None


class LiveCore:
    """Scheduler + nodes + paper gateway + feed, started and stopped together."""

    def __init__(self, settings: DeploymentSettings | None = None, config: LiveCoreConfig | None = None) -> None:
        self.settings = settings or DeploymentSettings()
        self.config = config or LiveCoreConfig()
        self.topics = Topics(self.settings.topic_prefix)
        self.nodes: list[ExecutionNode] = []
        self.gateway: TradeGateway | None = None
        self.scheduler: Scheduler | None = None
        self.feed: FeedRunner | None = None
        self.started_at: float | None = None
        self._bus: Bus | None = None
        self._coord: Coordination | None = None
        self._store: Store | None = None
        self._producer: Producer | None = None
        self._ops: Ops | None = None
        self._notifier: Notifier | None = None
        self._notices: NoticeSink = NO_NOTICES
        self._lock = threading.Lock()
        self._running = False
        self._gates: list[MarketGate] = []
        self._replay_stop = threading.Event()
        self._finisher: threading.Thread | None = None
        # a finite replay (``loop`` off) has published everything and the system settled
        self.replay_finished = threading.Event()
        self.replay_position = ReplayPosition()  # where a replay is in its data
        self.replay_data: ReplayData | None = None

    # --- lifecycle -----------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Open the backends, deploy the specs, start every service. Idempotent."""
        with self._lock:
            if self._running:
                log.warning("LiveCore is already running")
                return
            try:
                self._start()
            except BaseException:
                self._shutdown()
                raise
            self._running = True

    def stop(self) -> None:
        """Stop without losing anything: scheduler first (no more placements), then
        the nodes stop emitting orders and in-flight orders come back filled while
        the feed still prices them, then feed, nodes (final snapshots) and gateway."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            self._shutdown()

    def __enter__(self) -> LiveCore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- views ---------------------------------------------------------------------

    @property
    def ops(self) -> Ops:
        """Operator actions on this system (status, migrate, reload, ...)."""
        if self._ops is None:
            raise RuntimeError("LiveCore is not started")
        return self._ops

    @property
    def notices(self) -> NoticeSink:
        """The process's notifier (a silent sink when no URL is configured)."""
        return self._notices

    def status(self) -> StatusReport:
        return ops_status(self.ops)

    def export_metrics(self, registry: CollectorRegistry) -> None:
        """Make every started service series of ``registry`` (``livecore run
        --metrics-port``): the nodes by id, the gateway, the scheduler, the feed."""
        for node in self.nodes:
            export_node(node, registry)
        if self.gateway is not None:
            export_gateway(self.gateway, registry)
        if self.scheduler is not None:
            export_scheduler(self.scheduler, registry)
        if self.feed is not None:
            export_feed(self.feed, FEED_NAME, registry)

    # --- internals -----------------------------------------------------------------

    def _start(self) -> None:
        settings, config = self.settings, self.config
        files = _spec_files(config)
        schedule = None
        if config.feed is not None:
            events, total, self.replay_data = _feed_schedule(config.feed, self.replay_position)
            schedule = (events, total)
        notify = notify_settings(settings)
        if notify.urls:  # one notifier for every service of the process
            self._notifier = Notifier(notify, origin="run")
            self._notifier.start()
        self._notices = self._notifier or NO_NOTICES

        self._bus = bus = open_bus(settings.bus_url)
        self._coord = coord = open_coordination(settings.coord_url)
        self._store = store = open_store(settings.db_url)
        ensure_topics(bus, self.topics, config.topics)

        self._producer = bus.producer()
        channel = CommandChannel(self._producer, coord, CommandSigner(settings.secret), self.topics)
        self._ops = Ops(coord, store, channel, OpsConfig(lease_name=config.scheduler.lease_name))
        deployed = ops_deploy(self._ops, files)  # nodes read the spec from the registry at load
        wanted = {d.portfolio_id for d in deployed.portfolios}

        self.gateway = self._start_gateway()
        self._start_nodes()
        # Placements recorded by an earlier run name these nodes: a scheduler that
        # looked before they heartbeat would fail their portfolios over to nobody.
        self._wait_nodes_ready(config.ready_timeout_s)
        # placement maps symbols to the partitions of the topic this run creates
        scheduler_config = dataclasses.replace(config.scheduler, market_partitions=config.topics.market_data)
        self.scheduler = Scheduler(scheduler_config, coord, store, channel, notices=self._notices)
        self.scheduler.start()
        self.started_at = time.monotonic()

        if config.nodes > 0:
            self._wait_loaded(wanted, config.ready_timeout_s)
        if schedule is not None:
            self._start_feed(*schedule)

    def _start_gateway(self) -> TradeGateway:
        assert self._bus is not None and self._coord is not None and self._store is not None
        config = self.config
        gateway_config = dataclasses.replace(
            config.gateway, topic_prefix=self.settings.topic_prefix, topics=config.topics, event_time=self.event_time
        )
        gateway = TradeGateway(self._bus, self._coord, self._store, gateway_config, notices=self._notices)
        gateway.start()
        return gateway

    def _start_nodes(self) -> None:
        assert self._bus is not None and self._coord is not None and self._store is not None
        config = self.config
        finite = isinstance(config.feed, ReplayPlan) and not config.feed.loop
        node_config = dataclasses.replace(
            config.node,
            topic_prefix=self.settings.topic_prefix,
            event_time=self.event_time,
            # the end of a finite replay (and lockstep) is found by counting every record
            # each node has handled against every record the feed published
            all_market_partitions=config.node.all_market_partitions or finite,
        )
        lockstep = isinstance(config.feed, ReplayPlan) and config.feed.lockstep
        for i in range(1, config.nodes + 1):
            gate = MarketGate() if lockstep else None
            node = ExecutionNode(
                f"{config.node_prefix}-{i}",
                bus=self._bus,
                coord=self._coord,
                store=self._store,
                config=node_config,
                secret=self.settings.secret,
                market_gate=gate,
                notices=self._notices,
            )
            self.nodes.append(node)
            if gate is not None:
                self._gates.append(gate)
            node.start()

    def _start_feed(self, events: Iterator[Scheduled], total: int | None) -> None:
        """Start the feed once every consumer of market data is positioned (a
        ``latest`` consumer that is not would miss the first events)."""
        assert self._bus is not None and self.gateway is not None
        config = self.config
        self._wait_consumers_ready(config.ready_timeout_s)
        feed_config = FeedConfig(
            topic_prefix=self.settings.topic_prefix, topics=config.topics, event_time=self.event_time
        )
        quiet = Quiet(probe=self._progress, stop=self._replay_stop, timeout_s=config.settle_timeout_s)
        barrier = Lockstep(quiet=quiet, gates=self._gates).barrier if self._gates else None
        self.feed = FeedRunner(
            bus=self._bus, schedule=events, config=feed_config, total=total, name=FEED_NAME, barrier=barrier
        )
        self.feed.start()
        if isinstance(config.feed, ReplayPlan) and not config.feed.loop:
            self._finisher = threading.Thread(
                target=self._finish_replay, args=(self.feed, quiet), name="livecore-replay-end", daemon=True
            )
            self._finisher.start()

    @property
    def event_time(self) -> bool:
        """The run replays in event time (the data's timestamps kept)."""
        return isinstance(self.config.feed, ReplayPlan) and self.config.feed.event_time

    def _progress(self) -> Snapshot:
        """Nodes first, then gateway and feed (see ``lockstep``)."""
        assert self.gateway is not None and self.feed is not None
        nodes = tuple(node.progress() for node in self.nodes)
        return Snapshot(nodes=nodes, gateway=self.gateway.progress(), published=self.feed.published)

    def _finish_replay(self, feed: FeedRunner, quiet: Quiet) -> None:
        """A finite replay: once the data has ended and everything settled, cancel
        what still works (``end_of_data``), settle again, and say the run is over."""
        try:
            while not feed.join(0.1):
                if self._replay_stop.is_set():
                    return
            if feed.error is not None or not quiet.wait(settled, "settled after the data ended"):
                return
            assert self.gateway is not None
            cancelled = self.gateway.cancel_open_orders(END_OF_DATA)
            if quiet.wait(settled, "settled after end-of-data cancels"):
                log.info("replay finished (%d open order(s) cancelled: end of data)", cancelled)
                self.replay_finished.set()
        except Exception:
            log.exception("LiveCore: finishing the replay failed")

    def _wait_consumers_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.gateway is not None
        ready = self.gateway.wait_ready(timeout)
        for node in self.nodes:
            ready = node.market_loop.ready.wait(max(0.0, deadline - time.monotonic())) and ready
        if not ready:
            log.warning("market-data consumers not all positioned within %.0fs; starting the feed anyway", timeout)

    def _wait_nodes_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(node.ready for node in self.nodes):
            if time.monotonic() > deadline:
                log.warning("not every node was ready within %.0fs; starting the scheduler anyway", timeout)
                return
            time.sleep(0.02)

    def _wait_loaded(self, wanted: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.status()
            running = {p.portfolio_id for p in report.portfolios if p.state == "running"}
            if wanted <= running:
                return
            time.sleep(0.05)
        log.warning("not every portfolio was loaded within %.0fs; starting the feed anyway", timeout)

    def _in_flight(self) -> int:
        """Market orders not final yet, as the gateway's journal and as the hosted
        portfolios see them (a fill still in transit to its node counts). Limit
        orders may rest for days and are not waited for."""
        assert self._store is not None
        journal = sum(1 for o in self._store.journal.open_orders() if o.order.order_type is OrderType.MARKET)
        return journal + sum(node.in_flight_market_orders() for node in self.nodes)

    def _shutdown(self) -> None:
        """Stop everything that was started; a step that fails is logged and the
        next one still runs, so one broken service cannot keep the others running."""
        self._replay_stop.set()
        for gate in self._gates:  # a held node loop lets go
            gate.open_until(_EVERY_RECORD)
        if self._finisher is not None:
            self._finisher.join(self.config.settle_timeout_s)
        if self.scheduler is not None:
            _survive("stopping the scheduler", self.scheduler.stop)
        for node in self.nodes:
            _survive(f"pausing node {node.node_id}", node.pause)
        self._drain_in_flight()
        if self.feed is not None:
            self.feed.stop()
        for node in self.nodes:
            node.stop()
        if self.gateway is not None:
            self.gateway.stop()
        for what, closer in (
            ("producer", self._producer),
            ("store", self._store),
            ("coordination", self._coord),
            ("bus", self._bus),
        ):
            if closer is not None:
                _survive(f"closing the {what}", closer.close)
        if self._notifier is not None:  # last: it sends what the shutdown itself caused
            _survive("closing the notifier", self._notifier.close)
            self._notifier = None

    def _drain_in_flight(self) -> None:
        """While the feed still prices them, let in-flight market orders come back filled."""
        deadline = time.monotonic() + self.config.drain_timeout_s
        while self.feed is not None and time.monotonic() < deadline:
            try:
                if self._in_flight() == 0:
                    return
            except Exception:
                log.warning("cannot count in-flight orders; not waiting for them", exc_info=True)
                return
            time.sleep(0.05)


def _survive(what: str, step: Callable[[], object]) -> None:
    """Run one shutdown step; log what it raised and carry on."""
    try:
        step()
    except Exception:
        log.exception("LiveCore shutdown: %s failed; continuing", what)
