"""A Kafka broker restart, survived without an operator, on a real Tansu.

(a) **data lost**: Tansu with memory storage is killed (SIGKILL) and started
again on the same port: every topic and committed offset is gone. The
watchdog re-creates the topics with the layout's partition counts (never the
broker's default 4), producers rebuild and resend, the gateway journals new
orders again, the feed's ticks reach the gateway again, and ``status`` says ``degraded`` with
the reason while the broker is away and ``ok`` after.

(b) **data kept**: Tansu on S3 storage (a local ``moto_server``) is killed and
restarted: consumers resume from their committed offsets and no order is
journaled twice.

The gateway, the feed, the status reader and the test's own client each get
their own ``KafkaBus``, as separate processes would. Every wait is a
condition with a deadline.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.servers import ServerProcess, TansuBroker, s3_tansu_broker, tansu_broker, wait_until

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.adapters.kafka_health import BrokerState
from livecore.feed.config import FeedConfig
from livecore.feed.runner import FeedRunner
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings
from livecore.gateway.config import GatewayConfig
from livecore.gateway.service import TradeGateway
from livecore.health import BusHealthReporter
from livecore.ops.context import Ops
from livecore.ops.status import status
from livecore.ports.bus import Bus, BusError, ConsumerSettings
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.topology import DEFAULT_LAYOUT
from livecore.wire.codec import encode
from livecore.wire.messages import NewOrder, OrderType, Side
from livecore.wire.names import Topics, portfolio_epoch_key

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750, fetch_wait_max_ms=20)
QUERY = "?session_timeout_ms=3000&heartbeat_interval_ms=750&health_interval_s=0.5"
TIMEOUT = 60.0
PORTFOLIO = "p-restart"


class System:
    """A gateway and a feed (each with its own bus and health reporter) on one broker."""

    def __init__(self, broker: ServerProcess, tmp_path: Path, rate: float = 50.0) -> None:
        url = broker.url + QUERY
        self.prefix = f"r{uuid.uuid4().hex[:8]}."
        self.topics = Topics(self.prefix)
        self.coord: Coordination = open_coordination(f"memory://{uuid.uuid4().hex}")
        self.store: Store = open_store(f"sqlite:///{tmp_path / 'journal.db'}")
        self.gateway_bus, self.feed_bus, self.client_bus = open_bus(url), open_bus(url), open_bus(url)
        self.coord.advance_fence(portfolio_epoch_key(PORTFOLIO), 1, "n1")
        settings = GatewayConfig(topic_prefix=self.prefix, consumer=CONSUMER, gateway_id="gw1")
        self.gateway = TradeGateway(self.gateway_bus, self.coord, self.store, settings)
        feed = SyntheticFeed(SyntheticSettings(symbols=4, rate=rate, seed=1))
        feed_settings = FeedConfig(topic_prefix=self.prefix, poll_every=10)  # delivery counts kept current
        self.feed = FeedRunner(self.feed_bus, feed.events(), feed_settings, name="feed")
        self.reporters = [
            BusHealthReporter(bus=self.gateway_bus, coord=self.coord, process="gateway:gw1", interval_s=0.2),
            BusHealthReporter(bus=self.feed_bus, coord=self.coord, process="feed:feed", interval_s=0.2),
        ]
        self.ops = Ops(coord=self.coord, store=self.store)
        self.producer = self.client_bus.producer()
        self.seq = 0
        self.statuses: list[str] = []

    def start(self) -> None:
        self.gateway.start()
        assert self.gateway.wait_ready(TIMEOUT), "gateway consumers got no partitions"
        self.feed.start()
        for reporter in self.reporters:
            reporter.start()

    def order(self) -> str:
        """Send one market order (fire and forget: the producer resends across an outage)."""
        self.seq += 1
        order = NewOrder(
            client_order_id=f"{PORTFOLIO}-1-{self.seq}",
            portfolio_id=PORTFOLIO,
            epoch=1,
            node_id="n1",
            symbol="SYM0001",
            side=Side.BUY,
            quantity=Decimal("1"),
            order_type=OrderType.MARKET,
            created_ns=time.time_ns(),
        )
        self.producer.publish(self.topics.orders, PORTFOLIO, encode(order))
        self.producer.poll(0)
        return order.client_order_id

    def ticks_seen(self) -> int:
        """Market events the gateway consumed: the feed's ticks made it through the broker."""
        return self.gateway.stats.market_events

    def journaled(self, client_order_id: str) -> bool:
        self.producer.poll(0)
        return self.store.journal.get_order(client_order_id) is not None

    def health(self) -> str:
        report = status(self.ops)
        self.statuses.append(report.health)
        return report.health

    def broker_states(self) -> list[BrokerState]:
        return [bus.state for bus in (self.gateway_bus, self.feed_bus, self.client_bus)]  # type: ignore[attr-defined]

    def degraded(self) -> set[str]:
        """Processes whose status problem line names their bus."""
        return {p.split(": bus:")[0] for p in status(self.ops).problems if ": bus:" in p}

    def close(self) -> None:
        for reporter in self.reporters:
            reporter.stop()
        self.feed.stop()
        self.gateway.stop()
        with contextlib.suppress(BusError):  # a failed test may leave the broker down
            self.producer.close(5)
        for bus in (self.gateway_bus, self.feed_bus, self.client_bus):
            bus.close()
        self.store.close()


@pytest.fixture
def memory_broker() -> Iterator[TansuBroker]:
    with tansu_broker() as broker:
        yield broker


def partition_counts(bus: Bus, topics: list[str]) -> dict[str, int]:
    admin = bus._admin_client()  # type: ignore[attr-defined]
    found = admin.list_topics(timeout=5).topics
    return {t: len(found[t].partitions) for t in topics if t in found}


def survive_restart(system: System, broker: TansuBroker, data_kept: bool = False) -> list[str]:
    """Trade, kill the broker, see ``degraded``, restart it, trade again. Returns
    the ids of every order sent."""
    sent = [system.order()]
    wait_until(lambda: system.journaled(sent[0]), TIMEOUT, "first order journaled")
    wait_until(lambda: system.ticks_seen() > 0, TIMEOUT, "ticks reaching the gateway")
    assert system.health() == "ok"

    broker.kill()
    during = system.order()  # sent while the broker is away: must not be lost
    sent.append(during)
    wait_until(lambda: system.health() == "degraded", TIMEOUT, "status degraded while the broker is down")
    wait_until(lambda: system.degraded() == {"gateway:gw1", "feed:feed"}, TIMEOUT, "every process says degraded")

    broker.start()
    ticks, delivered = system.ticks_seen(), system.feed.delivered
    wait_until(lambda: system.health() == "ok", TIMEOUT, "status healthy after the restart")
    wait_until(lambda: system.journaled(during), TIMEOUT, "order sent during the outage journaled")
    after = system.order()
    sent.append(after)
    wait_until(lambda: system.journaled(after), TIMEOUT, "new order journaled after the restart")
    wait_until(lambda: system.feed.delivered > delivered + 10, TIMEOUT, "the feed's ticks acknowledged again")
    if not data_kept:
        # (Tansu 0.6.0 on S3 storage does not answer offset lookups after a restart, so a
        # consumer without a committed offset, like the gateway's market data one, waits
        # forever there: a broker bug this test cannot work around)
        wait_until(lambda: system.ticks_seen() > ticks + 10, TIMEOUT, "the feed's ticks reaching the gateway again")
    return sent


def test_restart_with_data_lost(memory_broker: TansuBroker, tmp_path: Path) -> None:
    system = System(memory_broker, tmp_path)
    try:
        system.start()
        layout = DEFAULT_LAYOUT.partitions(system.topics)
        assert partition_counts(system.client_bus, list(layout)) == layout
        sent = survive_restart(system, memory_broker)
        # re-created by the watchdogs with the layout's counts, not the broker's default 4
        assert partition_counts(system.client_bus, list(layout)) == layout
        orders = system.store.journal.orders(PORTFOLIO)
        assert sorted(o.order.client_order_id for o in orders) == sorted(sent)
        assert "degraded" in system.statuses and system.statuses[-1] == "ok"
        assert any(state.recreated for state in system.broker_states())  # the loss was seen and repaired
    finally:
        system.close()


# --- data kept: Tansu on S3 (moto_server) ------------------------------------------


@pytest.fixture
def s3_broker() -> Iterator[TansuBroker]:
    with s3_tansu_broker() as broker:
        yield broker


def test_restart_with_data_kept(s3_broker: TansuBroker, tmp_path: Path) -> None:
    # Tansu on S3 writes an object per batch and reads one per fetch (~100 ms each on
    # moto here): a few ticks per second is what a consumer can follow
    system = System(s3_broker, tmp_path, rate=4.0)
    try:
        system.start()
        sent = survive_restart(system, s3_broker, data_kept=True)
        orders = system.store.journal.orders(PORTFOLIO)
        # each order journaled exactly once, none lost
        assert sorted(o.order.client_order_id for o in orders) == sorted(sent)
        # the gateway resumed from its committed offset: the only orders it saw twice
        # are ones the client's producer resent (had it started over, it would see
        # the first order again, which was acknowledged before the outage)
        assert not any(state.recreated for state in system.broker_states())  # the topics survived
        resent = system.producer.resent  # type: ignore[attr-defined]
        assert system.gateway.stats.duplicates <= resent
    finally:
        system.close()
