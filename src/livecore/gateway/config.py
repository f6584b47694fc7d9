"""Every setting of the trade gateway in one frozen object."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from livecore.checks import at_least, non_empty, positive
from livecore.faults import RetryPolicy
from livecore.gateway.paper import PaperSettings
from livecore.ports.bus import ConsumerSettings
from livecore.topology import DEFAULT_LAYOUT, TopicLayout

DEFAULT_GROUP = "trade_gateway"


def new_gateway_id() -> str:
    """A gateway process's id when none is configured (logs, bus health, notices)."""
    return f"gw-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """``require_fence``: reject orders of a portfolio that has no ownership fence
    (reason ``no_owner``); off only for hand-published demo orders.

    ``topics`` (the one partition layout of the system) also gives the count used
    to map a portfolio id to its ``orders`` partition (CRC32 of the key, as both buses do) when a gateway
    adopts the open orders of partitions it is newly assigned.

    ``drop_backlog``: ignore market records the broker stamped before this
    gateway started (a new ``latest`` group on Tansu may replay one old batch).
    """

    paper: PaperSettings = field(default_factory=PaperSettings)
    require_fence: bool = True
    group_id: str = DEFAULT_GROUP
    gateway_id: str = ""
    topic_prefix: str = ""
    topics: TopicLayout = DEFAULT_LAYOUT
    max_batch: int = 500
    poll_timeout_s: float = 0.1
    retry_backoff_s: float = 0.5
    publish_timeout_s: float = 10.0
    consumer: ConsumerSettings | None = None
    drop_backlog: bool = True
    # event time (a replay that keeps the data's timestamps): "now" for acceptances,
    # cancels and DAY orders is the latest market event seen, not the wall clock
    event_time: bool = False
    # how often the cluster kill switch's state is read (control/halt.py)
    halt_poll_s: float = 0.1
    component: str = "gateway"
    # a record whose handling raises: tries before it is dead-lettered, backoff between tries
    record_retry: RetryPolicy = field(default_factory=RetryPolicy)
    # how long the health probe waits for the bus before calling it down
    probe_timeout_s: float = 2.0
    # how often the loss/halt counters are logged while any of them is not zero
    counters_log_interval_s: float = 60.0

    def __post_init__(self) -> None:
        non_empty(self, "group_id")
        at_least(self, 1, "max_batch")
        positive(self, "poll_timeout_s", "halt_poll_s")
