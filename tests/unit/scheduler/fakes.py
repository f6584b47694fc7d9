"""A fake execution node that speaks the node's runtime contract (commands,
acks, heartbeat, metrics with its session token, fence checks) without hosting
real portfolios.

Driven by hand (``pump()``, ``beat()``) for step-by-step tests, or in a thread
(``start()``) next to a threaded scheduler. Its ways to fail: ``stop()`` (no
more beats, session kept: a stalled process), ``crash()`` (session closed,
keys left to expire: ``kill -9``) and ``die()`` (everything gone at once).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

from livecore.control.halt import read_halt
from livecore.ports.bus import Bus
from livecore.ports.coordination import Coordination, CoordinationError, Session
from livecore.wire import codec, names
from livecore.wire.messages import CommandAck, ScheduleCommand
from livecore.wire.signing import CommandRejected, CommandVerifier

SECRET = "test-secret"


class FakeNode:
    def __init__(
        self,
        node_id: str,
        coord: Coordination,
        bus: Bus,
        secret: str = SECRET,
        topics: names.Topics | None = None,
        capacity: int = 10,
        ttl: float = 3.0,
        interval: float = 0.05,
        session: bool = True,
    ) -> None:
        """``session`` False: a node that reports no session (judged by its TTL alone)."""
        self.node_id = node_id
        self.coord = coord
        self.capacity = capacity
        self.ttl = ttl
        self.interval = interval
        self.state = "running"
        self.halted = False  # the cluster halt state, as a real node applies it
        self.loaded: dict[str, int] = {}
        self.prepared: dict[str, float] = {}  # portfolio -> hold_s of its preparation
        self.commands: list[ScheduleCommand] = []
        self.refused: list[str] = []
        self.refuse_loads = False
        self.shut_down = False
        self.alive = True
        self.answer = True  # False: take commands but never ack (a hung node)
        self.uses_session = session
        self.session: Session | None = None
        self._verifier = CommandVerifier(secret)
        topic = (topics or names.Topics()).schedule_updates
        self._consumer = bus.consumer(names.node_group_id(node_id), [topic], "latest")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- driving -----------------------------------------------------------------

    def pump(self, timeout: float = 0.0) -> int:
        """Handle every command waiting on the bus; returns how many were for this node."""
        handled = 0
        for record in self._consumer.poll(max_records=500, timeout=timeout):
            command = codec.schedule_commands.decode(record.value)
            try:
                self._verifier.verify(command)
            except CommandRejected as exc:
                self.refused.append(exc.reason)
                continue
            if command.target_node != self.node_id:
                continue
            handled += 1
            with self._lock:
                self.commands.append(command)
                ok, detail = self._handle(command)
            if self.answer:
                ack = CommandAck(
                    nonce=command.nonce,
                    node_id=self.node_id,
                    command=command.command,
                    portfolio_id=command.portfolio_id,
                    ok=ok,
                    detail=detail,
                    ts_ns=time.time_ns(),
                )
                self.coord.set(names.command_ack_key(command.nonce), codec.encode(ack).decode(), 300)
        return handled

    def beat(self) -> None:
        """Fence check, then heartbeat and metrics (what a node does every interval)."""
        if self.shut_down:
            return
        with self._lock:
            for pid, epoch in list(self.loaded.items()):
                fence = self.coord.get_fence(names.portfolio_epoch_key(pid))
                if fence is not None and (fence.epoch > epoch or fence.owner != self.node_id):
                    del self.loaded[pid]
            portfolios = dict(self.loaded)
        if self.uses_session and self.session is None:  # first beat, or back after a crash: a new process
            self.session = self.coord.open_session(names.node_session_name(self.node_id))
        session = {"session": self.session.keep()} if self.session is not None else {}
        now = datetime.now(UTC).isoformat()
        self.coord.set(names.heartbeat_key(self.node_id), now, self.ttl)
        self.coord.hset(
            names.metrics_key(self.node_id),
            {
                "portfolio_count": str(len(portfolios)),
                "queue_size": "0",
                "cpu_usage": "1.5",
                "memory_usage": "12.0",
                "total_events": "0",
                "backpressure_count": "0",
                "dropped_events": "0",
                "portfolios": json.dumps(portfolios),
                "state": self.state,
                "started_at": now,
                "capacity": str(self.capacity),
                "updated_at": now,
                "cluster_halted": "1" if self.halted else "0",
                **session,
            },
            self.ttl,
        )

    def die(self) -> None:
        """Stop at once; heartbeat and metrics vanish as if their TTL ran out."""
        self.crash()
        self.coord.delete(names.heartbeat_key(self.node_id))
        self.coord.delete(names.metrics_key(self.node_id))

    def crash(self) -> None:
        """``kill -9``: the session ends with the process; heartbeat and metrics stay
        until their TTL runs out."""
        self.stop()
        self.alive = False
        self._close_session()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"fake-node-{self.node_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._consumer.close()
        self._close_session()

    def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.pump(timeout=0.0)
                self.beat()
            except CoordinationError:
                pass  # the coordination server is away (restarting): try again next beat
            self._stop.wait(self.interval)

    # --- commands ------------------------------------------------------------------

    def _handle(self, command: ScheduleCommand) -> tuple[bool, str]:
        pid = command.portfolio_id
        kind = command.command
        if kind == "portfolio.load" and pid is not None:
            epoch = int(command.params["epoch"])
            fence = self.coord.get_fence(names.portfolio_epoch_key(pid))
            if fence is None or fence.epoch != epoch or fence.owner != self.node_id:
                return False, f"fence {fence} does not grant epoch {epoch} to {self.node_id}"
            if self.refuse_loads:
                return False, "refusing loads"
            if pid not in self.loaded and len(self.loaded) >= self.capacity:
                return False, "at capacity"
            self.loaded[pid] = epoch
            self.prepared.pop(pid, None)
            return True, "loaded"
        if kind in ("portfolio.unload", "portfolio.migrate") and pid is not None:
            if self.loaded.pop(pid, None) is None:
                return kind == "portfolio.unload", "not loaded"
            return True, "released"
        if kind == "portfolio.prepare" and pid is not None:
            hold_s = float(command.params["hold_s"])
            if hold_s <= 0:
                return True, "dropped" if self.prepared.pop(pid, None) is not None else "nothing prepared"
            self.prepared[pid] = hold_s
            return True, "prepared"
        if kind == "portfolio.reload" and pid is not None:
            return (pid in self.loaded), "reloaded" if pid in self.loaded else "not loaded"
        if kind == "node.pause":
            self.state = "paused"
            return True, "paused"
        if kind == "node.resume":
            self.state = "running"
            return True, "resumed"
        if kind == "node.shutdown":
            self.shut_down = True
            self._stop.set()
            self.coord.delete(names.heartbeat_key(self.node_id))
            return True, "shutting down"
        if kind in ("cluster.halt", "cluster.resume"):
            self.halted = read_halt(self.coord) is not None
            return True, "halted" if self.halted else "not halted"
        return False, f"unknown command {kind}"
