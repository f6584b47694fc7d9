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

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import ServerProcess, ServerUnavailable, s3_tansu_broker, tansu_broker, wait_until

from livecore.ports.bus import Bus
from livecore.testing.broker_restart import PORTFOLIO, TIMEOUT, System
from livecore.topology import DEFAULT_LAYOUT

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


@pytest.fixture
def memory_broker() -> Iterator[ServerProcess]:
    with tansu_broker() as broker:
        yield broker


def partition_counts(bus: Bus, topics: list[str]) -> dict[str, int]:
    admin = bus._admin_client()  # type: ignore[attr-defined]
    found = admin.list_topics(timeout=5).topics
    return {t: len(found[t].partitions) for t in topics if t in found}


def survive_restart(system: System, broker: ServerProcess, data_kept: bool = False) -> list[str]:
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


def test_restart_with_data_lost(memory_broker: ServerProcess, tmp_path: Path) -> None:
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
def s3_broker() -> Iterator[ServerProcess]:
    try:
        with s3_tansu_broker() as broker:
            yield broker
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


def test_restart_with_data_kept(s3_broker: ServerProcess, tmp_path: Path) -> None:
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
