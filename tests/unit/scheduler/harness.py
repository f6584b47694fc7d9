"""Builds a scheduler on real embedded (or given) backends next to fake nodes."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from livecore.adapters.factory import open_coordination, open_store
from livecore.adapters.memory_bus import MemoryBus
from livecore.control.commands import Command, CommandChannel
from livecore.control.requests import MigrationRequest, write_json
from livecore.notify import NO_NOTICES, NoticeSink
from livecore.ports.bus import Bus
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.service import Scheduler
from livecore.scheduler.specs import SymbolIndex
from livecore.wire import names
from livecore.wire.signing import CommandSigner
from tests.unit.scheduler.fakes import SECRET, FakeNode

ISOLATED_REDIS_DB = 9


def isolated(coord_url: str) -> str:
    """The session's redis-server is shared with other suites, whose nodes and
    leases a scheduler would see: scheduler tests use their own database, emptied
    at the start of each test."""
    if not coord_url.startswith("redis://"):
        return coord_url
    import redis

    url = f"{coord_url.rsplit('/', 1)[0]}/{ISOLATED_REDIS_DB}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def toml_symbols(text: str) -> frozenset[str]:
    return frozenset(tomllib.loads(text).get("symbols", []))


def spec(pid: str, *symbols: str) -> str:
    quoted = ", ".join(f'"{s}"' for s in symbols)
    return f'id = "{pid}"\nsymbols = [{quoted}]\n'


class FakeClock:
    """Monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    coord: Coordination
    store: Store
    bus: Bus
    prefix: str
    nodes: dict[str, FakeNode] = field(default_factory=dict)
    schedulers: list[Scheduler] = field(default_factory=list)

    @property
    def topics(self) -> names.Topics:
        return names.Topics(self.prefix)

    def channel(self) -> CommandChannel:
        return CommandChannel(self.bus.producer(), self.coord, CommandSigner(SECRET), self.topics)

    def scheduler(
        self, clock: FakeClock | None = None, notices: NoticeSink = NO_NOTICES, **overrides: object
    ) -> Scheduler:
        settings: dict[str, object] = {"tick_interval": 0.05, "lease_ttl": 2.0, "lease_margin": 0.2}
        settings.update(overrides)
        config = SchedulerConfig(**settings)  # type: ignore[arg-type]
        extra: dict[str, object] = {"notices": notices}
        if clock is not None:
            extra["clock"] = clock
        sched = Scheduler(config, self.coord, self.store, self.channel(), SymbolIndex(toml_symbols), **extra)  # type: ignore[arg-type]
        self.schedulers.append(sched)
        return sched

    def node(self, node_id: str, **kwargs: object) -> FakeNode:
        node = FakeNode(node_id, self.coord, self.bus, SECRET, self.topics, **kwargs)  # type: ignore[arg-type]
        self.nodes[node_id] = node
        return node

    def deploy(self, pid: str, *symbols: str) -> None:
        self.store.registry.upsert(pid, spec(pid, *symbols), "running", 1)

    def request_migration(self, pid: str, to: str | None) -> str:
        """An operator's migration request (``to`` None: the scheduler picks); its id."""
        rid = uuid.uuid4().hex
        req = MigrationRequest(request_id=rid, portfolio_id=pid, to=to, requested_ns=1)
        write_json(self.coord, names.migration_request_key(pid), req, 60)
        return rid

    def fence(self, pid: str) -> tuple[int, str] | None:
        found = self.coord.get_fence(names.portfolio_epoch_key(pid))
        return None if found is None else (found.epoch, found.owner)

    def step(self, sched: Scheduler, rounds: int = 1) -> None:
        """Scheduler tick, then every live fake node handles commands and beats."""
        for _ in range(rounds):
            sched.tick()
            for node in list(self.nodes.values()):
                if not node.shut_down and node.alive:
                    node.pump()
                    node.beat()

    def settle(self, sched: Scheduler) -> None:
        self.step(sched, rounds=4)


def loads(node: FakeNode) -> list[tuple[str | None, int]]:
    """The loads ``node`` was sent: (portfolio id, epoch), in order."""
    return [(c.portfolio_id, int(c.params["epoch"])) for c in node.commands if c.command == Command.LOAD]


@contextmanager
def harness(
    tmp_path: Path,
    coord_url: str | None = None,
    db_url: str | None = None,
    coord: Coordination | None = None,
) -> Iterator[Harness]:
    """A harness on fresh backends, closed after; ``coord`` (e.g. one on a fake clock) overrides ``coord_url``."""
    coord = coord or open_coordination(isolated(coord_url or f"memory://{uuid.uuid4().hex}"))
    store = open_store(db_url or f"sqlite:///{tmp_path / 'livecore.db'}")
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    # A unique topic prefix keeps tests apart on shared servers.
    h = Harness(coord, store, bus, prefix=f"t{uuid.uuid4().hex[:8]}.")
    try:
        yield h
    finally:
        for sched in h.schedulers:
            sched.stop()
        for node in h.nodes.values():
            node.close()
        store.close()
        coord.close()
        bus.close()
