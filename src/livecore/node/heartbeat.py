"""The heartbeat thread: proof of life, metrics, and the node's own watchdog.

Every ``heartbeat_interval``:

0. apply the cluster's halt state if it changed (``node/halt.py``): a node
   that missed a ``cluster.halt`` converges within one beat;
1. check that the consumer loops are alive: each stamps ``last_alive`` every
   poll; a loop whose thread died, or that has not stamped for
   ``loop_stall_s``, makes the node stop heartbeating (and delete its key so
   the scheduler notices at once), loudly. A process whose loops are dead must
   not look alive;
2. refresh the node claim, keep the node's coordination session
   (``node/session.py``), SETEX the heartbeat key, write the metrics hash with
   the session's token (both with TTL ``heartbeat_ttl``): only once the
   consumers have their start positions, so that no command or fill sent to a
   node it announced is lost;
3. check the ownership fence of every hosted portfolio and drop the ones this
   node no longer owns;
4. ask stale dirty portfolios for a snapshot, and publish portfolio views.

The metrics hash also carries the bus's health (``bus_ok``, ``bus_reason``,
``bus_since_ns``): a node whose broker is gone is alive but cannot trade, and
``livecore status`` must say so rather than show it healthy.

Each step is guarded on its own: an error is logged, never fatal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from livecore.node.config import NodeConfig
from livecore.node.hosting import PortfolioHosting
from livecore.node.loop import ConsumerLoop
from livecore.node.metrics import NodeStats, ProcessGauge, iso_now, node_metrics
from livecore.notify import NO_NOTICES, NoticeSink, fault_notice
from livecore.ports.bus import HEALTHY, BusHealth
from livecore.ports.coordination import Coordination
from livecore.wire import names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchedLoop:
    loop: ConsumerLoop
    thread: threading.Thread


class Heartbeat:
    def __init__(
        self,
        *,
        node_id: str,
        config: NodeConfig,
        coord: Coordination,
        hosting: PortfolioHosting,
        claim_value: str,
        stats: Callable[[], NodeStats],
        loops: Callable[[], list[WatchedLoop]],
        stop_event: threading.Event,
        on_claim_lost: Callable[[], None],
        bus_health: Callable[[], BusHealth] = lambda: HEALTHY,
        halt_sync: Callable[[], object] = lambda: None,
        session_token: Callable[[], str | None] = lambda: None,
        notices: NoticeSink = NO_NOTICES,
    ) -> None:
        """``halt_sync``: apply the cluster's halt state (each beat, before the report);
        ``session_token``: keep the node's coordination session, its token for the report."""
        self._node_id = node_id
        self._config = config
        self._coord = coord
        self._hosting = hosting
        self._claim_value = claim_value
        self._stats = stats
        self._loops = loops
        self._stop = stop_event
        self._on_claim_lost = on_claim_lost
        self._bus_health = bus_health
        self._halt_sync = halt_sync
        self._session_token = session_token
        self._notices = notices
        self._bus_ok = True
        self._gauge = ProcessGauge()
        self._started = time.monotonic()
        self.last_alive = time.monotonic()
        self.beats = 0
        self.announced = False  # heartbeat key currently written by us
        self.problem: str | None = None

    def run(self) -> None:
        self._started = time.monotonic()
        while not self._stop.is_set():
            self.last_alive = time.monotonic()
            self.beat()
            self._stop.wait(self._config.heartbeat_interval)

    def beat(self) -> None:
        """One heartbeat round (public so tests can drive it)."""
        self._guard("cluster halt", self._halt_sync)
        problem = self._loop_problem()
        if problem is not None:
            self._go_silent(problem)
        elif self._consumers_ready():
            if self.problem is not None:
                log.warning("node %s: loops healthy again; heartbeat resumes", self._node_id)
                self.problem = None
            self._guard("heartbeat", self._announce)
        self._guard("fence check", self._hosting.check_fences)
        self._guard("expired preparations", self._hosting.prepared.expire)
        self._guard("snapshot requests", self._hosting.request_due_snapshots)
        self._guard("portfolio views", lambda: self._hosting.publish_views(self._config.heartbeat_ttl))
        self.beats += 1

    def _announce(self) -> None:
        ttl = self._config.heartbeat_ttl
        key = names.node_claim_key(self._node_id)
        if not self._coord.refresh_claim(key, self._claim_value, ttl) and not self._coord.claim(
            key, self._claim_value, ttl
        ):
            log.critical("node %s: its claim %s is held by another process: this one stops", self._node_id, key)
            self.announced = False
            self._on_claim_lost()
            return
        session = self._session_token()
        self._coord.set(names.heartbeat_key(self._node_id), iso_now(), ttl=ttl)
        self.announced = True
        report = node_metrics(self._stats(), self._gauge, self._read_bus_health(), session)
        self._coord.hset(names.metrics_key(self._node_id), report.to_hash(), ttl=ttl)

    def _read_bus_health(self) -> BusHealth:
        health = self._bus_health()
        if health.ok != self._bus_ok:
            self._bus_ok = health.ok
            if health.ok:
                log.warning("node %s: bus healthy again", self._node_id)
            else:
                log.error("node %s: bus DEGRADED: %s", self._node_id, health.reason)
        return health

    def _loop_problem(self) -> str | None:
        now = time.monotonic()
        for watched in self._loops():
            label = watched.loop.label
            if watched.thread.ident is not None and not watched.thread.is_alive():
                return f"{label} thread is dead"
            stalled = now - watched.loop.last_alive
            if stalled > self._config.loop_stall_s:
                return f"{label} loop stuck for {stalled:.1f}s"
        return None

    def _consumers_ready(self) -> bool:
        if all(watched.loop.ready.is_set() for watched in self._loops()):
            return True
        waited = time.monotonic() - self._started
        if waited > self._config.ready_timeout_s:
            if self.beats % 10 == 0:
                log.warning(
                    "node %s: consumers still unassigned after %.0fs; heartbeating anyway", self._node_id, waited
                )
            return True
        return False

    def _go_silent(self, problem: str) -> None:
        if self.problem != problem:
            log.critical("node %s: %s: heartbeat STOPPED so the scheduler moves its portfolios", self._node_id, problem)
            self._notices.notify(fault_notice(f"node {self._node_id}", f"{problem}: heartbeat stopped"))
            self.problem = problem
        if self.announced:
            self._guard("heartbeat removal", lambda: self._coord.delete(names.heartbeat_key(self._node_id)))
            self.announced = False

    def _guard(self, what: str, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            log.exception("node %s: %s failed", self._node_id, what)
