"""Operator ports on the embedded backends, with fake nodes and valid specs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.config import DeploymentSettings
from livecore.control.commands import CommandChannel
from livecore.ops.context import Ops, OpsConfig
from livecore.wire import names
from livecore.wire.signing import CommandSigner
from tests.unit.scheduler.fakes import SECRET, FakeNode
from tests.unit.scheduler.harness import isolated


def spec_text(pid: str, symbol: str = "AAPL", fast: int = 5) -> str:
    return f"""
id = "{pid}"
name = "MA on {symbol}"
initial_cash = 100000
symbols = ["{symbol}"]

[strategy]
class = "ma_crossover"
params = {{ fast = {fast}, slow = 20 }}
"""


def write_spec(directory: Path, pid: str, **kwargs: object) -> Path:
    path = directory / f"{pid}.toml"
    path.write_text(spec_text(pid, **kwargs))  # type: ignore[arg-type]
    return path


@dataclass
class World:
    settings: DeploymentSettings
    ops: Ops
    nodes: dict[str, FakeNode] = field(default_factory=dict)

    def node(self, node_id: str, **kwargs: object) -> FakeNode:
        bus = open_bus(self.settings.bus_url)
        node = FakeNode(node_id, self.ops.coord, bus, SECRET, names.Topics(), **kwargs)  # type: ignore[arg-type]
        self.nodes[node_id] = node
        return node

    def place(self, pid: str, node: FakeNode, epoch: int = 1) -> None:
        """What the scheduler would have done (fence, registry, load), by hand."""
        self.ops.coord.advance_fence(names.portfolio_epoch_key(pid), epoch, node.node_id)
        self.ops.store.registry.set_placement(pid, node.node_id, epoch, 1)
        node.loaded[pid] = epoch
        node.beat()


@contextmanager
def world(tmp_path: Path, coord_url: str | None = None, ack_timeout: float = 5.0) -> Iterator[World]:
    """Embedded backends under fresh names (shared with a CLI run in this process)."""
    settings = DeploymentSettings(
        bus_url=f"memory://{uuid.uuid4().hex}",
        coord_url=isolated(coord_url or f"memory://{uuid.uuid4().hex}"),
        db_url=f"sqlite:///{tmp_path / 'livecore.db'}",
        secret=SECRET,
    )
    coord = open_coordination(settings.coord_url)
    store = open_store(settings.db_url)
    bus = open_bus(settings.bus_url)
    producer = bus.producer()
    channel = CommandChannel(producer, coord, CommandSigner(SECRET), names.Topics())
    w = World(settings, Ops(coord, store, channel, OpsConfig(ack_timeout=ack_timeout, migrate_timeout=10.0)))
    try:
        yield w
    finally:
        for node in w.nodes.values():
            node.close()
        producer.close()
        store.close()
        coord.close()
