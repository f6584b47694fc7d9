"""Fuzz the real consumer loops: a node and a gateway wired on the in-process
bus (and a smaller sample on Tansu / redis-server / PostgreSQL) get batches of
generated records on every topic they consume, each batch followed by a good
sentinel record on the same partition. After every batch:

- no loop died (threads alive, no batch-level error counted);
- every record that does not decode is dead-lettered, and every record that
  decodes was handled or dead-lettered;
- the sentinel behind the batch was processed (an order journaled, a price
  applied, a command acknowledged, the feedback offsets released).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.faults import RetryPolicy
from livecore.gateway.config import GatewayConfig
from livecore.gateway.service import TradeGateway
from livecore.node import ExecutionNode
from livecore.wire import codec, names
from livecore.wire.messages import NewOrder, OrderType, ScheduleCommand, Side, Tick
from tests.fuzz.records import (
    SENTINEL_SYMBOL,
    VICTIM,
    command_payloads,
    feedback_payloads,
    market_payloads,
    order_payloads,
    unique,
)
from tests.integration.test_node_support import CONSUMER, TIMEOUT, NodeRig, backend_urls
from tests.servers import wait_until

FAST = RetryPolicy(max_attempts=3, backoff_s=0.005, max_backoff_s=0.02)
# profiles: "fuzz" on the in-process bus, "fuzz-servers" on Tansu / redis-server /
# PostgreSQL; LIVECORE_FUZZ_EXAMPLES scales both up for a longer hunt
_EXAMPLES = int(os.environ.get("LIVECORE_FUZZ_EXAMPLES", "15"))
settings.register_profile(
    "fuzz",
    max_examples=_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("fuzz-servers", settings.get_profile("fuzz"), max_examples=max(1, _EXAMPLES // 5))
FUZZ = settings(settings.get_profile("fuzz"))
ON_SERVERS = settings(settings.get_profile("fuzz-servers"))


class Cluster:
    """One node hosting a sentinel portfolio and one gateway, on one set of backends."""

    def __init__(self, rig: NodeRig) -> None:
        self.rig = rig
        self.node: ExecutionNode = rig.running_node(record_retry=FAST)
        self.gateway = TradeGateway(
            rig.bus,
            rig.coord,
            rig.store,
            GatewayConfig(topic_prefix=rig.prefix, consumer=CONSUMER, require_fence=False, record_retry=FAST),
        )
        self.gateway.start()
        assert self.gateway.wait_ready(TIMEOUT)
        self.pid = rig.pid()
        rig.load(self.node, self.pid, [SENTINEL_SYMBOL], strategy="livecore.testing.strategies:Idle")
        rig.load(self.node, VICTIM, ["AAA", "BBB", "CCC"])  # buys once: its orders meet fuzzed prices
        self.market_sent = 0
        self.feedback_sent = 0

    def publish(self, topic: str, key: str, payloads: list[bytes]) -> None:
        for payload in payloads:
            self.rig.producer.publish(topic, key, payload)
        self.rig.producer.flush(TIMEOUT)

    def dead_lettered(self, topic: str, component: str) -> set[bytes]:
        return {d.payload for d in self.rig.dead_letters(topic) if d.component == component}

    def wait_dead_lettered(self, topic: str, component: str, payloads: set[bytes]) -> None:
        wait_until(
            lambda: payloads <= self.dead_lettered(topic, component),
            TIMEOUT,
            f"{len(payloads)} dead letters on {topic}.dlq by {component}",
        )

    def check_alive(self) -> None:
        alive = {t.name for t in threading.enumerate() if t.is_alive()}
        gid = self.gateway.gateway_id
        assert {f"{gid}-orders", f"{gid}-market"} <= alive, "a gateway loop died"
        assert all(t.is_alive() for t in self.node._threads.values()), "a node loop died"
        assert self.node.ready, "the node stopped heartbeating"
        assert self.gateway.stats.loop_errors == 0
        for loop in (self.node.market_loop, self.node.feedback_loop, self.node.schedule_loop):
            assert loop.errors == 0, f"{loop.label} failed a whole batch"

    def close(self) -> None:
        self.gateway.stop()


def decoded(decoder: codec.Decoder[Any], payload: bytes) -> Any:
    """The message, or None when the payload does not decode."""
    try:
        return decoder.decode(payload)
    except codec.MalformedMessage:
        return None


def undecodable(decoder: codec.Decoder[Any], payloads: list[bytes]) -> set[bytes]:
    return {p for p in payloads if decoded(decoder, p) is None}


def _cluster(kind: str, request: pytest.FixtureRequest, tmp: str) -> Iterator[Cluster]:
    from pathlib import Path

    bus_url, coord_url, db_url = backend_urls(kind, request, Path(tmp))
    bus, coord, store = open_bus(bus_url), open_coordination(coord_url), open_store(db_url)
    rig = NodeRig(kind, bus, coord, store)
    cluster = Cluster(rig)
    try:
        yield cluster
    finally:
        cluster.close()
        rig.close()
        store.close()
        coord.close()
        bus.close()


@pytest.fixture(scope="module")
def embedded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from _cluster("embedded", request, str(tmp_path_factory.mktemp("fuzz")))


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from _cluster("servers", request, str(tmp_path_factory.mktemp("fuzz")))


# --- orders (the gateway's orders loop) ----------------------------------------------


def sentinel_order(limit: str) -> NewOrder:
    return NewOrder(
        client_order_id=unique("fz-sentinel"),
        portfolio_id="fz-sentinel",
        epoch=1,
        node_id="fz",
        symbol=SENTINEL_SYMBOL,
        side=Side.BUY,
        quantity=Decimal(1),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(limit),
        created_ns=1,
    )


def check_orders(c: Cluster, payloads: list[bytes]) -> None:
    rig, key = c.rig, "fz-orders"
    sentinel = sentinel_order("0.01")  # rests: sentinel prices never reach it
    c.publish(rig.topics.orders, key, [*payloads, codec.encode(sentinel)])  # one partition
    journal = rig.store.journal
    wait_until(lambda: journal.feedback_for_order(sentinel.client_order_id), TIMEOUT, "the sentinel order answered")
    c.wait_dead_lettered(rig.topics.orders, "gateway", undecodable(codec.order_requests, payloads))
    letters = c.dead_lettered(rig.topics.orders, "gateway")
    for payload in payloads:
        request = decoded(codec.order_requests, payload)
        if isinstance(request, NewOrder) and payload not in letters:
            assert journal.get_order(request.client_order_id) is not None, "an order neither run nor dead-lettered"
    c.check_alive()


@FUZZ
@given(batch=st.lists(order_payloads(), min_size=1, max_size=12))
def test_fuzzed_orders_never_block_the_gateway(embedded: Cluster, batch: list[bytes]) -> None:
    check_orders(embedded, batch)


@ON_SERVERS
@given(batch=st.lists(order_payloads(), min_size=1, max_size=12))
def test_fuzzed_orders_never_block_the_gateway_on_servers(servers: Cluster, batch: list[bytes]) -> None:
    check_orders(servers, batch)


# --- market data (the node's market loop and the gateway's market loop) ------------------


def check_market(c: Cluster, payloads: list[bytes]) -> None:
    rig, journal = c.rig, c.rig.store.journal
    resting = sentinel_order("10000")  # filled by the sentinel tick behind the batch
    c.publish(rig.topics.orders, "fz-orders", [codec.encode(resting)])
    wait_until(lambda: journal.feedback_for_order(resting.client_order_id), TIMEOUT, "the resting sentinel accepted")
    price = Decimal(f"{1 + c.market_sent % 997}.{uuid.uuid4().int % 10_000:04d}")
    sentinel = Tick(symbol=SENTINEL_SYMBOL, ts_ns=time.time_ns(), price=price)
    c.publish(rig.topics.market_data, SENTINEL_SYMBOL, [*payloads, codec.encode(sentinel)])
    c.market_sent += len(payloads) + 1

    def node_saw_sentinel() -> bool:
        return rig.portfolio(c.node, c.pid).books.last_prices.get(SENTINEL_SYMBOL) == price

    wait_until(node_saw_sentinel, TIMEOUT, "the sentinel price applied by the node")
    stats = c.gateway.stats

    def gateway_accounted() -> bool:
        done = stats.market_events + stats.malformed_market + stats.failed_market + stats.backlog_dropped
        return done >= c.market_sent

    wait_until(gateway_accounted, TIMEOUT, "every market record applied or dead-lettered by the gateway")

    def gateway_filled_sentinel() -> bool:
        return any(e.feedback.fill_id for e in journal.feedback_for_order(resting.client_order_id))

    wait_until(gateway_filled_sentinel, TIMEOUT, "the sentinel tick applied by the gateway")
    bad = undecodable(codec.market_events, payloads)
    for component in (f"node:{c.node.node_id}", "gateway"):
        c.wait_dead_lettered(rig.topics.market_data, component, bad)
    c.check_alive()


@FUZZ
@given(batch=st.lists(market_payloads(), min_size=1, max_size=12))
def test_fuzzed_market_data_never_stops_the_node_or_the_gateway(embedded: Cluster, batch: list[bytes]) -> None:
    check_market(embedded, batch)


@ON_SERVERS
@given(batch=st.lists(market_payloads(), min_size=1, max_size=12))
def test_fuzzed_market_data_never_stops_the_node_or_the_gateway_on_servers(
    servers: Cluster, batch: list[bytes]
) -> None:
    check_market(servers, batch)


# --- order feedback (the node's feedback loop) -------------------------------------------


def check_feedback(c: Cluster, payloads: list[bytes]) -> None:
    rig, loop = c.rig, c.node.feedback_loop
    c.publish(rig.topics.orders_feedback, c.pid, payloads)
    c.feedback_sent += len(payloads)

    def all_released() -> bool:
        return loop.events >= c.feedback_sent and loop.tracker.outstanding() == 0

    wait_until(all_released, TIMEOUT, "every feedback record delivered or dead-lettered, its offset released")
    bad = undecodable(codec.order_feedback, payloads)
    c.wait_dead_lettered(rig.topics.orders_feedback, f"node:{c.node.node_id}", bad)
    c.check_alive()


@FUZZ
@given(batch=st.lists(feedback_payloads(), min_size=1, max_size=12))
def test_fuzzed_feedback_never_stops_the_node(embedded: Cluster, batch: list[bytes]) -> None:
    check_feedback(embedded, batch)


@ON_SERVERS
@given(batch=st.lists(feedback_payloads(), min_size=1, max_size=12))
def test_fuzzed_feedback_never_stops_the_node_on_servers(servers: Cluster, batch: list[bytes]) -> None:
    check_feedback(servers, batch)


# --- schedule commands (the node's schedule loop) -----------------------------------------


def check_commands(c: Cluster, data: st.DataObject) -> None:
    rig, nid = c.rig, c.node.node_id
    drawn = data.draw(st.lists(command_payloads(rig.signer, nid), min_size=1, max_size=8))
    sentinel = rig.signer.build("node.resume", nid, None, {})
    # one key, so one partition: the sentinel is consumed after every fuzzed record
    # (an empty record first: the loop must go past it too)
    c.publish(rig.topics.schedule_updates, nid, [b"", *(payload for payload, _ in drawn), codec.encode(sentinel)])
    assert rig.ack(sentinel).ok, "the sentinel command behind the batch was not run"
    topic, component = rig.topics.schedule_updates, f"node:{nid}"
    c.wait_dead_lettered(topic, component, undecodable(codec.schedule_commands, [p for p, _ in drawn]) | {b""})
    mine = [(p, decoded(codec.schedule_commands, p)) for p, nonce in drawn if nonce is not None]

    def answered(payload: bytes, cmd: ScheduleCommand) -> bool:
        acked = rig.coord.get(names.command_ack_key(cmd.nonce)) is not None
        return acked or payload in c.dead_lettered(topic, component)

    for payload, cmd in mine:
        if cmd is not None:
            what = f"command {cmd.command[:40]!r} acknowledged or dead-lettered"
            wait_until(lambda p=payload, m=cmd: answered(p, m), TIMEOUT, what)
    c.check_alive()


@FUZZ
@given(data=st.data())
def test_fuzzed_commands_never_stop_the_schedule_loop(embedded: Cluster, data: st.DataObject) -> None:
    check_commands(embedded, data)


@ON_SERVERS
@given(data=st.data())
def test_fuzzed_commands_never_stop_the_schedule_loop_on_servers(servers: Cluster, data: st.DataObject) -> None:
    check_commands(servers, data)
