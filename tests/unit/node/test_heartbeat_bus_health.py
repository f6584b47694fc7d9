"""The node's metrics hash carries its bus health, and a broken bus does not
silence the heartbeat (the node is alive; it says it cannot trade)."""

from __future__ import annotations

import threading

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.node.config import NodeConfig
from livecore.node.heartbeat import Heartbeat, WatchedLoop
from livecore.node.loop import ConsumerLoop, LoopSettings
from livecore.ports.bus import HEALTHY, BusHealth
from livecore.wire import names
from tests.unit.node.test_heartbeat import Hosting, stats

DOWN = BusHealth(ok=False, reason="broker: broker 127.0.0.1:9 unreachable", since_ns=42)


def test_metrics_carry_bus_health_and_the_heartbeat_goes_on() -> None:
    coord = MemoryCoordination()
    coord.claim(names.node_claim_key("n1"), "me", 5)
    loop = ConsumerLoop(
        consumer_factory=lambda: None,  # type: ignore[arg-type,return-value]
        should_run=lambda: True,
        settings=LoopSettings(poll_batch=1, poll_timeout_s=0.1),
    )
    loop.ready.set()
    current = [DOWN]
    heartbeat = Heartbeat(
        node_id="n1",
        config=NodeConfig(heartbeat_interval=0.5, heartbeat_ttl=5, loop_stall_s=60),
        coord=coord,
        hosting=Hosting(),  # type: ignore[arg-type]
        claim_value="me",
        stats=stats,
        loops=lambda: [WatchedLoop(loop, threading.Thread(target=lambda: None))],
        stop_event=threading.Event(),
        on_claim_lost=lambda: None,
        bus_health=lambda: current[0],
    )
    heartbeat.beat()
    fields = coord.hgetall(names.metrics_key("n1"))
    assert coord.get(names.heartbeat_key("n1")) is not None
    assert (fields[names.BUS_OK_FIELD], fields[names.BUS_REASON_FIELD]) == ("0", DOWN.reason)
    assert fields[names.BUS_SINCE_FIELD] == "42"

    current[0] = HEALTHY
    heartbeat.beat()
    fields = coord.hgetall(names.metrics_key("n1"))
    assert (fields[names.BUS_OK_FIELD], fields[names.BUS_REASON_FIELD]) == ("1", "")
