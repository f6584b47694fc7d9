"""``livecore run``'s defaults survive a stalled, loaded process (no false failover)."""

from __future__ import annotations

from livecore.livecore import LiveCoreConfig

STALL_S = 8.0  # a long GC pause or CPU starvation of the whole process


def test_a_stall_does_not_expire_the_embedded_heartbeats() -> None:
    config = LiveCoreConfig()
    node = config.node
    assert node.heartbeat_ttl - node.heartbeat_interval > STALL_S


def test_a_longer_stall_is_covered_by_the_schedulers_grace() -> None:
    config = LiveCoreConfig()
    scheduler, node = config.scheduler, config.node
    # a stall long enough to expire a heartbeat is one the scheduler notices ...
    assert config.scheduler.tick_interval + scheduler.stall_threshold < node.heartbeat_ttl - node.heartbeat_interval
    # ... and the nodes get several beats to show they live before anyone is judged
    assert scheduler.stall_grace >= 3 * node.heartbeat_interval
    # a node whose consumer loops look stuck stops beating: a stall must not trip that either
    assert node.loop_stall_s > STALL_S
