"""Which portfolios this node hosts, and every change to that set.

Load, unload, migrate (source side), reload, pause/resume, the drop of a
portfolio whose ownership fence moved on, and the final flush at stop all live
here, serialised by one lock. The table itself belongs to ``HostedPortfolios``
(``node/table.py``); hosting is its only writer. What the processors call back
into (schedule, send orders, save snapshots, release feedback tickets, refresh
the InterestMap) is ``node/host_callbacks.py``.

Load order, and why:
1. the portfolio id joins ``loading``: feedback for it now waits instead of
   being ignored, so nothing slips between the journal read and hosting;
2. fence and epoch checks (a stale load is refused);
3. spec from the registry (or the command), built with the registered code
   version or refused (``node/codegate.py``), or the one a ``portfolio.prepare``
   built from the same registry entry (``node/prepared.py``: a planned
   migration's target prepares while the source drains); the spec's symbols join the
   InterestMap at once and the market consumer is woken, so that it starts
   reading any partition it lacks (broker round trips) while this thread
   restores;
4. latest snapshot restored (or a fresh portfolio), then ``reconcile`` with the
   gateway journal;
5. the portfolio's symbols (its restored universe) are set in the InterestMap
   and the load waits until the market consumer reads their partitions (from
   their end as of then): nothing published after the acknowledgement is
   missed;
6. a snapshot at the new epoch is saved and the processor registered; then it
   trades. (Events routed to it before it is registered find no processor and
   are dropped: they precede the acknowledgement.)

Every change of the InterestMap (load, unload, drop, a strategy's new
universe) is followed by ``market_changed``, so the market consumer reads only
what the hosted portfolios trade; only a load waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from livecore.codeversion import encode, short
from livecore.control.events import AuditEvent
from livecore.node.codegate import CodeGate
from livecore.node.commands import CommandFailed, ExpectedLoad
from livecore.node.config import NodeConfig
from livecore.node.factory import LoadablePortfolio, PortfolioFactory
from livecore.node.halt import ClusterHaltSwitch
from livecore.node.host_callbacks import ProcessorCallbacks
from livecore.node.interest import InterestMap
from livecore.node.orders import OrderSender
from livecore.node.prepared import Preparations, Prepared
from livecore.node.processor import PortfolioProcessor
from livecore.node.table import HostedPortfolios
from livecore.node.workers import WorkerPool
from livecore.notify import NO_NOTICES, NoticeSink
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.telemetry.steps import StepTimer
from livecore.wire import names

log = logging.getLogger(__name__)


class PortfolioHosting:
    def __init__(
        self,
        *,
        node_id: str,
        config: NodeConfig,
        coord: Coordination,
        store: Store,
        factory: PortfolioFactory,
        interest: InterestMap,
        portfolios: HostedPortfolios,
        sender: OrderSender,
        pool: WorkerPool,
        feedback_ready: Callable[[float], bool],
        market_ready: Callable[[float], bool],
        market_changed: Callable[[], object],
        halt: ClusterHaltSwitch,
        notices: NoticeSink = NO_NOTICES,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        """``now_ns``: when an equity point is taken (the event clock in event time)."""
        self._node_id = node_id
        self._config = config
        self._coord = coord
        self._store = store
        self._factory = factory
        self._interest = interest
        self._portfolios = portfolios
        self._sender = sender
        self._feedback_ready = feedback_ready
        self._market_ready = market_ready
        self._market_changed = market_changed
        self._halt = halt
        self._notices = notices
        self._ops = threading.RLock()
        self._loading: set[str] = set()
        self._code_gate = CodeGate(factory=factory, audit=self._audit)
        self.prepared = Preparations(
            registry=store.registry, code_gate=self._code_gate, interest=interest, market_changed=market_changed
        )
        self.paused = False
        self.callbacks = ProcessorCallbacks(
            node_id=node_id,
            store=store,
            interest=interest,
            portfolios=portfolios,
            sender=sender,
            pool=pool,
            market_changed=market_changed,
            now_ns=now_ns,
        )
        self.dropped_by_fence = 0

    # --- queries ----------------------------------------------------------------------

    def is_loading(self, portfolio_id: str) -> bool:
        return portfolio_id in self._loading

    def processors(self) -> list[PortfolioProcessor]:
        return self._portfolios.processors()

    def epochs(self) -> dict[str, int]:
        return self._portfolios.epochs()

    # --- load ---------------------------------------------------------------------------

    def prepare(self, portfolio_id: str, hold_s: float, load: ExpectedLoad | None = None) -> str:
        """A planned migration's target, while the source drains (``node/prepared.py``)."""
        with self._ops:
            if hold_s > 0 and self._portfolios.get(portfolio_id) is not None:
                return f"{portfolio_id} is hosted here already: nothing to prepare"
            return self.prepared.prepare(portfolio_id, hold_s, load)

    def load(self, portfolio_id: str, epoch: int, spec_toml: str | None = None) -> str:
        with self._ops:
            prepared = self.prepared.take(portfolio_id)
            try:
                return self._load(portfolio_id, epoch, spec_toml, prepared)
            finally:  # its partitions: the portfolio's own now, or no longer wanted
                self.prepared.release(portfolio_id)

    def _load(self, portfolio_id: str, epoch: int, spec_toml: str | None, prepared: Prepared | None) -> str:
        """Under the lock: see the module docstring for the order."""
        existing = self._portfolios.get(portfolio_id)
        if existing is not None:
            if existing.epoch == epoch:
                return f"{portfolio_id} already loaded at epoch {epoch}"
            if existing.epoch > epoch:
                raise CommandFailed(f"stale load: {portfolio_id} is hosted at epoch {existing.epoch} > {epoch}")
        elif len(self._portfolios) >= self._config.capacity:
            raise CommandFailed(f"node {self._node_id} is at capacity ({self._config.capacity})")
        self._check_fence(portfolio_id, epoch)
        if not self._feedback_ready(self._config.loop_stall_s / 2):
            raise CommandFailed("order feedback consumer is not positioned yet; retry")
        with self._loading_guard(portfolio_id):
            if existing is not None:  # re-fence: flush at the old epoch, rebuild at the new one
                self._retire(existing, persist=True, drain=True)
            steps = StepTimer()
            spec = self._spec(portfolio_id, spec_toml, prepared)
            try:
                self._interest.set(portfolio_id, spec.symbols)
                self._market_changed()  # its partitions are assigned while the portfolio is restored
                portfolio = self._build(portfolio_id, epoch, spec)
                processor = self._processor(portfolio)
                steps.mark("restored")
                self._interest.set(portfolio_id, portfolio.symbols)
                if not self._market_ready(self._config.loop_stall_s / 2):
                    raise CommandFailed("market-data consumer is not reading the portfolio's partitions yet; retry")
                steps.mark("partitions read")
                if not processor.persist():
                    raise CommandFailed(f"cannot save the first snapshot of {portfolio_id} at epoch {epoch}")
                steps.mark("first snapshot")
            except Exception:  # refused, or a backend error: not hosted, nothing read for it
                self._interest.remove(portfolio_id)
                self._market_changed()
                raise
            self._portfolios.add(processor)
            processor.request_snapshot()  # first turn on a worker: sends anything reconcile queued
        log.info("%s: loaded at epoch %d in %s", portfolio_id, epoch, steps)
        verb = "re-fenced" if existing is not None else "loaded"
        used = ", prepared" if prepared is not None and spec is prepared.spec else ""
        return f"{portfolio_id} {verb} at epoch {epoch} ({len(portfolio.symbols)} symbols{used})"

    def _spec(self, portfolio_id: str, spec_toml: str | None, prepared: Prepared | None) -> Any:
        """The spec to load (the command's, else the registry's), with the registered code:
        the prepared one if it was built from the same spec and code version."""
        entry = self._store.registry.get(portfolio_id)
        if spec_toml is None:
            if entry is None:
                raise CommandFailed(f"{portfolio_id} is not in the registry and no spec_toml was given")
            spec_toml = entry.spec_toml
        registered = None if entry is None else entry.code_version
        if prepared is not None and entry is not None and prepared.fits(spec_toml, registered):
            return prepared.spec
        return self._code_gate.for_load(portfolio_id, spec_toml, registered)

    def _processor(self, portfolio: LoadablePortfolio) -> PortfolioProcessor:
        processor = PortfolioProcessor(
            portfolio=portfolio,
            host=self.callbacks,
            mailbox_size=self._config.mailbox_size,
            feedback_mailbox_size=self._config.feedback_mailbox_size,
            notices=self._notices,
            equity_interval_s=self._config.equity_interval_s,
            feedback_snapshot_interval_s=self._config.feedback_snapshot_interval_s,
        )
        processor.halt_version = self._halt.prepare(portfolio)  # a halted cluster: before it trades
        return processor

    def _build(self, portfolio_id: str, epoch: int, spec: Any) -> LoadablePortfolio:
        stored = self._store.snapshots.latest(portfolio_id)
        if stored is not None and stored.epoch > epoch:
            raise CommandFailed(f"stale load: snapshot of {portfolio_id} is at epoch {stored.epoch} > {epoch}")
        try:
            if stored is None:
                portfolio = self._factory.create(spec, epoch, self._node_id)
            else:
                portfolio = self._factory.restore(stored.data, spec, epoch, self._node_id)
        except Exception as exc:
            raise CommandFailed(f"cannot build {portfolio_id}: {type(exc).__name__}: {exc}") from None
        orders = [entry.order for entry in self._store.journal.orders(portfolio_id)]
        feedback = [entry.feedback for entry in self._store.journal.feedback(portfolio_id)]
        report = portfolio.reconcile(orders, feedback)
        log.info("%s: restored=%s reconcile: %s", portfolio_id, stored is not None, report)
        if self.paused:
            portfolio.set_trading_enabled(False)
        return portfolio

    def _check_fence(self, portfolio_id: str, epoch: int) -> None:
        fence = self._coord.get_fence(names.portfolio_epoch_key(portfolio_id))
        if fence is None:
            return
        if fence.epoch > epoch or (fence.epoch == epoch and fence.owner != self._node_id):
            raise CommandFailed(f"stale load: fence of {portfolio_id} is epoch {fence.epoch} owned by {fence.owner}")

    @contextlib.contextmanager
    def _loading_guard(self, portfolio_id: str) -> Iterator[None]:
        self._loading.add(portfolio_id)
        try:
            yield
        finally:
            self._loading.discard(portfolio_id)

    # --- unload / migrate / drop --------------------------------------------------------

    def unload(self, portfolio_id: str) -> str:
        with self._ops:
            processor = self._portfolios.get(portfolio_id)
            if processor is None:
                return f"{portfolio_id} is not hosted here"
            saved = self._retire(processor, persist=True, drain=True)
            if not saved:
                raise CommandFailed(f"{portfolio_id} unloaded, but its final snapshot was not saved")
            return f"{portfolio_id} unloaded at epoch {processor.epoch}"

    def migrate(self, portfolio_id: str, to_node: str) -> str:
        if to_node == self._node_id:
            raise CommandFailed(f"cannot migrate {portfolio_id} to the node it is on")
        with self._ops:
            processor = self._portfolios.get(portfolio_id)
            if processor is None:
                return f"{portfolio_id} is not hosted here (already moved?)"
            saved = self._retire(processor, persist=True, drain=True)
            self._audit(AuditEvent.PORTFOLIO_MIGRATED_OUT, portfolio_id, {"to": to_node, "snapshot_saved": saved})
            if not saved:
                raise CommandFailed(f"{portfolio_id} stopped, but its final snapshot was not saved")
            return f"{portfolio_id} drained and released at epoch {processor.epoch} for {to_node}"

    def drop(self, portfolio_id: str, reason: str) -> None:
        """Lost ownership: stop at once; no orders, no snapshot overwrite."""
        with self._ops:
            processor = self._portfolios.get(portfolio_id)
            if processor is None:
                return
            log.warning("dropping %s: %s", portfolio_id, reason)
            self.dropped_by_fence += 1
            self._retire(processor, persist=False, drain=False)
            self._audit(AuditEvent.PORTFOLIO_DROPPED, portfolio_id, {"reason": reason})

    def supersede(self, portfolio_id: str, epoch: int) -> None:
        """The fence names this node at a newer epoch: stop, drain and persist at the old
        epoch (it is still ours), then drop; the coming load rebuilds at the new one."""
        with self._ops:
            processor = self._portfolios.get(portfolio_id)
            if processor is None or processor.epoch >= epoch:
                return
            log.info(
                "%s: fence moved to epoch %d on this node; releasing epoch %d", portfolio_id, epoch, processor.epoch
            )
            self._retire(processor, persist=True, drain=True)

    def close_all(self) -> int:
        """At stop: drain and persist every portfolio, then drop them all. Returns how many saved."""
        with self._ops:
            processors = self.processors()
            for processor in processors:
                self._interest.remove(processor.portfolio_id)
                processor.quiesce()
            for processor in processors:
                self._sender.wait_delivered(processor.portfolio_id, self._config.drain_timeout_s)
            saved = sum(1 for processor in processors if processor.close(persist=True))
            self._portfolios.clear()
            for processor in processors:
                with contextlib.suppress(Exception):
                    self._coord.delete(names.portfolio_view_key(processor.portfolio_id))
            self._interest.clear()
            self.prepared.clear()
            self.paused = False
            return saved

    def _retire(self, processor: PortfolioProcessor, persist: bool, drain: bool) -> bool:
        pid = processor.portfolio_id
        self._interest.remove(pid)
        if drain:
            processor.quiesce()
            if not self._sender.wait_delivered(pid, self._config.drain_timeout_s):
                log.warning("%s: orders still undelivered after %.1fs", pid, self._config.drain_timeout_s)
        else:
            with processor.exclusive() as portfolio:
                portfolio.set_trading_enabled(False)
        saved = processor.close(persist=persist)
        self._portfolios.discard(processor)
        self._interest.remove(pid)  # a batch finishing meanwhile may have re-added it
        self._market_changed()
        with contextlib.suppress(Exception):
            self._coord.delete(names.portfolio_view_key(pid))
        return saved

    # --- reload / pause / resume ----------------------------------------------------------

    def reload(self, portfolio_id: str) -> str:
        with self._ops:
            processor = self._portfolios.get(portfolio_id)
            if processor is None:
                raise CommandFailed(f"{portfolio_id} is not hosted here")
            entry = self._store.registry.get(portfolio_id)
            if entry is None:
                raise CommandFailed(f"{portfolio_id} is not in the registry")
            spec, local = self._code_gate.for_reload(portfolio_id, entry.spec_toml, entry.code_version)
            with processor.exclusive() as portfolio:
                reloadable: LoadablePortfolio = portfolio  # type: ignore[assignment]
                reloadable.reload(spec)  # a new universe reaches the InterestMap on the way out
            if not self._market_ready(self._config.loop_stall_s / 2):
                log.warning("%s reloaded, but the market consumer does not read its partitions yet", portfolio_id)
            processor.request_snapshot()
            version = encode(local)
            if entry.code_version != version:  # none recorded yet: this is it
                self._store.registry.set_code_version(portfolio_id, version, time.time_ns())
            self._audit(AuditEvent.PORTFOLIO_RELOADED, portfolio_id, {"code_version": version})
            return f"{portfolio_id} reloaded (code {short(local)})"

    def pause(self) -> str:
        with self._ops:
            if self.paused:
                return "already paused"
            self.paused = True
            for processor in self.processors():
                with processor.exclusive() as portfolio:
                    portfolio.set_trading_enabled(False)
            return "paused: no new orders; fills and prices still apply"

    def resume(self) -> str:
        with self._ops:
            if not self.paused:
                return "not paused"
            self.paused = False
            for processor in self.processors():
                if processor.needs_reconcile is not None:
                    continue  # stays stopped until it is loaded again
                with processor.exclusive() as portfolio:
                    portfolio.set_trading_enabled(True)
            return "resumed"

    def isolate(self, portfolio_id: str, reason: str) -> None:
        """Feedback for ``portfolio_id`` was given up: its books may be wrong, so it
        stops opening positions until a new load reconciles it from the journal."""
        processor = self._portfolios.get(portfolio_id)
        if processor is None or processor.closed:
            return  # not hosted here: whoever loads it next reconciles from the journal
        log.error("%s: feedback given up (%s): trading stopped until it is loaded again", portfolio_id, reason)
        processor.isolate(f"needs reconcile: feedback given up: {reason}")
        self._audit(AuditEvent.PORTFOLIO_ISOLATED, portfolio_id, {"reason": reason, "epoch": processor.epoch})

    # --- periodic (heartbeat thread) ---------------------------------------------------------

    def check_fences(self) -> list[str]:
        """Drop every hosted portfolio whose fence moved past it; return their ids."""
        dropped = []
        for processor in self.processors():
            pid = processor.portfolio_id
            fence = self._coord.get_fence(names.portfolio_epoch_key(pid))
            if fence is None:
                continue
            if fence.owner == self._node_id and fence.epoch > processor.epoch:
                # placed here again at a newer epoch; its load follows: flush ours first
                self.supersede(pid, fence.epoch)
                dropped.append(pid)
            elif fence.epoch > processor.epoch or fence.owner != self._node_id:
                self.drop(pid, f"fence is epoch {fence.epoch} owned by {fence.owner}, ours {processor.epoch}")
                dropped.append(pid)
        return dropped

    def request_due_snapshots(self) -> None:
        interval = self._config.snapshot_interval_s
        for processor in self.processors():
            if processor.dirty and processor.snapshot_age >= interval:
                processor.request_snapshot()

    def publish_views(self, ttl: float) -> None:
        for processor in self.processors():
            view = processor.view_json(self._node_id)
            if view is not None:
                self._coord.set(names.portfolio_view_key(processor.portfolio_id), view, ttl=ttl)

    def _audit(self, event: str, portfolio_id: str, detail: dict[str, object]) -> None:
        try:
            self._store.audit.record(
                "node", event, {"node_id": self._node_id, "portfolio_id": portfolio_id, **detail}, time.time_ns()
            )
        except Exception:
            log.exception("cannot audit %s of %s", event, portfolio_id)
