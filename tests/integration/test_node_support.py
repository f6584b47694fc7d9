"""Shared rig of the ExecutionNode integration tests (no tests here).

``NodeRig`` owns one set of backends and a topic prefix of its own, so the
session-wide Tansu / redis-server / PostgreSQL can be shared by every test. It
builds nodes with the fast test intervals (heartbeat 0.5 s, TTL 1.5 s), sends
signed commands and waits for their acks, publishes ticks and feedback, and
reads what the node wrote to ``orders`` and the dead-letter topics.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.servers import wait_until

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.domain.portfolio import Portfolio
from livecore.node import ExecutionNode, NodeConfig
from livecore.ports.bus import Bus, Consumer, ConsumerSettings, Record
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.testing.strategies import spec_toml
from livecore.topology import ensure_topics
from livecore.wire import codec, names
from livecore.wire.messages import CommandAck, DeadLetter, NewOrder, OrderFeedback, ScheduleCommand, Tick
from livecore.wire.signing import CommandSigner

CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750, fetch_wait_max_ms=20)
SECRET = "node-test-secret"
TIMEOUT = 30.0


class NodeRig:
    def __init__(self, kind: str, bus: Bus, coord: Coordination, store: Store) -> None:
        self.kind = kind
        self.bus, self.coord, self.store = bus, coord, store
        self.prefix = f"t{uuid.uuid4().hex[:10]}."
        self.config = NodeConfig(
            heartbeat_interval=0.5,
            heartbeat_ttl=1.5,
            topic_prefix=self.prefix,
            consumer=CONSUMER,
            snapshot_interval_s=1.0,
            ready_timeout_s=TIMEOUT,
        )
        self.topics = self.config_topics()
        ensure_topics(self.bus, self.topics, self.config.topic_layout)
        self.producer = bus.producer()
        self.signer = CommandSigner(SECRET)
        self.nodes: list[ExecutionNode] = []
        self._reader: Consumer | None = None
        self._read: dict[str, list[Record]] = {}

    def config_topics(self) -> names.Topics:
        return names.Topics(self.prefix)

    # --- nodes ------------------------------------------------------------------------

    def node(self, node_id: str | None = None, **overrides: Any) -> ExecutionNode:
        config = self.config
        if overrides:
            from dataclasses import replace

            config = replace(config, **overrides)
        node = ExecutionNode(
            node_id or f"n{uuid.uuid4().hex[:6]}",
            bus=self.bus,
            coord=self.coord,
            store=self.store,
            config=config,
            secret=SECRET,
        )
        self.nodes.append(node)
        return node

    def start(self, node: ExecutionNode) -> ExecutionNode:
        node.start()
        wait_until(lambda: node.ready, TIMEOUT, f"node {node.node_id} heartbeating")
        return node

    def running_node(self, **overrides: Any) -> ExecutionNode:
        return self.start(self.node(**overrides))

    # --- portfolios ---------------------------------------------------------------------

    def pid(self) -> str:
        return f"p{uuid.uuid4().hex[:8]}"

    def register(self, pid: str, symbols: list[str], **spec: Any) -> None:
        self.store.registry.upsert(pid, spec_toml(pid, symbols, **spec), "running", time.time_ns())

    def fence(self, pid: str, epoch: int, owner: str) -> None:
        assert self.coord.advance_fence(names.portfolio_epoch_key(pid), epoch, owner)

    def load(self, node: ExecutionNode, pid: str, symbols: list[str], epoch: int = 1, **spec: Any) -> CommandAck:
        """Register, fence and load by command, as the scheduler does; wait for the ack."""
        self.register(pid, symbols, **spec)
        self.fence(pid, epoch, node.node_id)
        ack = self.command(node.node_id, "portfolio.load", pid, epoch=epoch)
        assert ack.ok, ack.detail
        return ack

    def portfolio(self, node: ExecutionNode, pid: str) -> Portfolio:
        """The hosted domain object (read it between events; the node owns it)."""
        with node.portfolios[pid].exclusive() as hosted:
            assert isinstance(hosted, Portfolio)
            return hosted

    # --- commands ------------------------------------------------------------------------

    def send_command(self, cmd: ScheduleCommand | bytes) -> None:
        payload = cmd if isinstance(cmd, bytes) else codec.encode(cmd)
        self.producer.publish_sync(self.topics.schedule_updates, None, payload)

    def command(self, node_id: str, command: str, pid: str | None = None, **params: Any) -> CommandAck:
        cmd = self.signer.build(command, node_id, pid, params)
        self.send_command(cmd)
        return self.ack(cmd)

    def ack(self, cmd: ScheduleCommand, timeout: float = TIMEOUT) -> CommandAck:
        key = names.command_ack_key(cmd.nonce)
        wait_until(lambda: self.coord.get(key) is not None, timeout, f"ack of {cmd.command}")
        value = self.coord.get(key)
        assert value is not None
        return codec.command_acks.decode(value.encode())

    # --- market data and feedback -----------------------------------------------------------

    def tick(self, symbol: str, price: str = "10", ts_ns: int | None = None) -> None:
        event = Tick(symbol=symbol, ts_ns=time.time_ns() if ts_ns is None else ts_ns, price=Decimal(price))
        self.producer.publish_sync(self.topics.market_data, symbol, codec.encode(event))

    def ticks(self, events: list[tuple[str, str]]) -> None:
        """Many ticks, one flush."""
        now = time.time_ns()
        for symbol, price in events:
            event = Tick(symbol=symbol, ts_ns=now, price=Decimal(price))
            self.producer.publish(self.topics.market_data, symbol, codec.encode(event))
        self.producer.flush(TIMEOUT)

    def feedback(self, fb: OrderFeedback | bytes, key: str | None = None) -> None:
        if isinstance(fb, bytes):
            self.producer.publish_sync(self.topics.orders_feedback, key, fb)
        else:
            self.producer.publish_sync(self.topics.orders_feedback, fb.portfolio_id, codec.encode(fb))

    # --- reading what the node wrote ------------------------------------------------------------

    def records(self, topic: str) -> list[Record]:
        """What the node wrote to ``orders`` or a dead-letter topic (one reader, one group join)."""
        if self._reader is None:
            watched = [self.topics.orders] + [self.topics.dlq(t) for t in self.topics.all()]
            self._reader = self.bus.consumer(f"reader-{uuid.uuid4().hex}", watched, "earliest", CONSUMER)
        for record in self._reader.poll(1000, 0.05):
            self._read.setdefault(record.topic, []).append(record)
        return self._read.get(topic, [])

    def orders(self, pid: str | None = None) -> list[tuple[bytes | None, NewOrder]]:
        out = []
        for record in self.records(self.topics.orders):
            message = codec.order_requests.decode(record.value)
            if isinstance(message, NewOrder) and (pid is None or message.portfolio_id == pid):
                out.append((record.key, message))
        return out

    def wait_orders(self, pid: str, count: int) -> list[tuple[bytes | None, NewOrder]]:
        wait_until(lambda: len(self.orders(pid)) >= count, TIMEOUT, f"{count} orders of {pid}")
        return self.orders(pid)

    def dead_letters(self, topic: str) -> list[DeadLetter]:
        return [codec.dead_letters.decode(r.value) for r in self.records(self.topics.dlq(topic))]

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        if self._reader is not None:
            self._reader.close()
        self.producer.close()


def backend_urls(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, str]:
    if kind == "embedded":
        return (f"memory://{uuid.uuid4().hex}", f"memory://{uuid.uuid4().hex}", f"sqlite:///{tmp_path}/node.db")
    urls = tuple(str(request.getfixturevalue(name)) for name in ("kafka_url", "redis_url", "postgres_url"))
    return urls[0], urls[1], urls[2]


def make_rig(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    bus_url, coord_url, db_url = backend_urls(kind, request, tmp_path)
    bus, coord, store = open_bus(bus_url), open_coordination(coord_url), open_store(db_url)
    rig = NodeRig(kind, bus, coord, store)
    try:
        yield rig
    finally:
        rig.close()
        store.close()
        coord.close()
        bus.close()
