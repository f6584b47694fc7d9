"""A Kafka broker restart, survived without an operator, on a real Tansu.

(a) **data lost**: Tansu with memory storage is killed (SIGKILL) and started
again on the same port: every topic and committed offset is gone. The
watchdog re-creates the topics with the layout's partition counts (never the
broker's default 4), producers rebuild and resend, the gateway journals new
orders again, the feed publishes again, and ``status`` says ``degraded`` with
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
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.servers import ServerProcess, TansuBroker, free_port, tansu_broker, wait_until

from livecore.adapters.factory import open_bus, open_coordination, open_store
from livecore.adapters.kafka_health import BrokerState
from livecore.feed.runner import FeedRunner, FeedSettings
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings
from livecore.gateway.service import TradeGateway
from livecore.gateway.settings import GatewaySettings
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

    def __init__(self, broker: ServerProcess, tmp_path: Path) -> None:
        url = broker.url + QUERY
        self.prefix = f"r{uuid.uuid4().hex[:8]}."
        self.topics = Topics(self.prefix)
        self.coord: Coordination = open_coordination(f"memory://{uuid.uuid4().hex}")
        self.store: Store = open_store(f"sqlite:///{tmp_path / 'journal.db'}")
        self.gateway_bus, self.feed_bus, self.client_bus = open_bus(url), open_bus(url), open_bus(url)
        self.coord.advance_fence(portfolio_epoch_key(PORTFOLIO), 1, "n1")
        settings = GatewaySettings(topic_prefix=self.prefix, consumer=CONSUMER, gateway_id="gw1")
        self.gateway = TradeGateway(self.gateway_bus, self.coord, self.store, settings)
        feed = SyntheticFeed(SyntheticSettings(symbols=4, rate=50.0, seed=1))
        self.feed = FeedRunner(self.feed_bus, feed.events(), FeedSettings(topic_prefix=self.prefix), name="feed")
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


def survive_restart(system: System, broker: TansuBroker) -> list[str]:
    """Trade, kill the broker, see ``degraded``, restart it, trade again. Returns
    the ids of every order sent."""
    sent = [system.order()]
    wait_until(lambda: system.journaled(sent[0]), TIMEOUT, "first order journaled")
    wait_until(lambda: system.feed.delivered > 0, TIMEOUT, "feed delivering")
    assert system.health() == "ok"

    broker.kill()
    during = system.order()  # sent while the broker is away: must not be lost
    sent.append(during)
    wait_until(lambda: system.health() == "degraded", TIMEOUT, "status degraded while the broker is down")
    wait_until(lambda: system.degraded() == {"gateway:gw1", "feed:feed"}, TIMEOUT, "every process says degraded")

    broker.start()
    delivered = system.feed.delivered
    wait_until(lambda: system.health() == "ok", TIMEOUT, "status healthy after the restart")
    wait_until(lambda: system.journaled(during), TIMEOUT, "order sent during the outage journaled")
    after = system.order()
    sent.append(after)
    wait_until(lambda: system.journaled(after), TIMEOUT, "new order journaled after the restart")
    wait_until(lambda: system.feed.delivered > delivered + 10, TIMEOUT, "feed publishing again")
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
def s3_broker(tmp_path: Path) -> Iterator[TansuBroker]:
    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(moto).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until(lambda: _http_ok(endpoint), 30, "moto_server")
        _create_bucket(endpoint, "tansu")
        env = {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }
        with tansu_broker(storage="s3://tansu/", env=env) as broker:
            yield broker
    finally:
        server.kill()
        server.wait(10)


def _http_ok(endpoint: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(endpoint, timeout=1) as answer:
        return bool(answer.status == 200)


def _create_bucket(endpoint: str, bucket: str) -> None:
    import urllib.request

    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    with urllib.request.urlopen(request, timeout=5):
        pass


def test_restart_with_data_kept(s3_broker: TansuBroker, tmp_path: Path) -> None:
    system = System(s3_broker, tmp_path)
    try:
        system.start()
        sent = survive_restart(system, s3_broker)
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
