"""A Kafka broker restart as a gateway and a feed see it: the harness of
``tests/e2e/test_broker_restart.py`` and ``bench/bench_broker_restart.py``.

The gateway, the feed, the status reader and the client each get their own
``KafkaBus``, as separate processes would; coordination is in memory and the
journal a SQLite file.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from decimal import Decimal
from pathlib import Path

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
from livecore.ports.bus import BusError, ConsumerSettings
from livecore.ports.coordination import Coordination
from livecore.ports.store import Store
from livecore.testing.servers import ServerProcess
from livecore.wire.codec import encode
from livecore.wire.messages import NewOrder, OrderType, Side
from livecore.wire.names import Topics, portfolio_epoch_key

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
