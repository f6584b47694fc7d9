"""Every tunable of an ExecutionNode in one frozen object.

The seed fixes ``heartbeat_interval = 10`` and ``heartbeat_ttl = 30``; the rest
are this project's. Nothing else in ``node/`` spells a number that an operator
might want to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livecore.checks import at_least, positive, positive_or_none, require
from livecore.faults import RetryPolicy
from livecore.ports.bus import ConsumerSettings
from livecore.topology import TopicLayout

MIN_HEARTBEAT_INTERVAL_S = 0.5
MAX_GIL_SWITCH_INTERVAL_S = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Settings of one node. Invalid values and combinations are refused at
    construction with a ``ConfigError`` naming the field."""

    # heartbeat and metrics (seed defaults)
    heartbeat_interval: float = 10.0
    heartbeat_ttl: float = 30.0
    # a consumer loop that has not stamped for this long is stuck: the heartbeat stops
    loop_stall_s: float = 30.0
    # how long the heartbeat waits for the consumers to be assigned before it starts anyway
    ready_timeout_s: float = 60.0

    # hosting
    capacity: int = 1000
    workers: int = 4
    # market events a processor may hold before new ticks for a queued symbol are conflated
    mailbox_size: int = 1000
    # feedback reports a processor may hold before feedback consumption pauses
    feedback_mailbox_size: int = 1000
    # events one worker applies to one portfolio before yielding to the others
    worker_batch: int = 200

    # market data
    # read every partition of market.data, not only those of the portfolios' symbols
    # (for a publisher that cannot use the wire's partitioner; a lockstep replay always does)
    all_market_partitions: bool = False
    poll_batch: int = 1000
    poll_timeout_s: float = 0.1
    # the market consumer's longest wait at the broker for new data (fetch.wait.max.ms):
    # a tick is only worth its freshest value, so its wait is short (None: ``consumer``'s)
    market_fetch_wait_ms: int | None = 5
    # ticks older than this (event ts_ns vs wall clock) are skipped; None keeps every tick
    max_tick_age_s: float | None = 5.0
    # event time (a replay that keeps the data's timestamps): a tick's age is measured
    # from the latest event seen, not the wall clock
    event_time: bool = False

    # state
    snapshot_interval_s: float = 30.0
    # the least time between two snapshots of a portfolio that applied order feedback
    # (its offsets are committed after the snapshot: up to this much later); 0 saves
    # after every batch of feedback (node/deferred.py)
    feedback_snapshot_interval_s: float = 1.0
    # a saved snapshot also records a point of the portfolio's equity curve when its
    # last point is at least this old; None records none
    equity_interval_s: float | None = 30.0

    # orders out
    # how long an order may wait in the producer to be batched (0: it leaves at once;
    # None: the bus's setting, e.g. the kafka:// URL's linger_ms, 5 ms by default)
    producer_linger_ms: int | None = 0
    order_retry_interval_s: float = 0.5
    drain_timeout_s: float = 10.0

    # commands
    command_max_age_s: float = 60.0
    command_ack_ttl_s: float = 300.0

    # consumers and topics
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    topic_layout: TopicLayout = field(default_factory=TopicLayout)  # partitions, if this node creates them
    create_topics: bool = True
    topic_prefix: str = ""

    # a record whose handling raises: tries before it is dead-lettered, backoff between tries
    record_retry: RetryPolicy = field(default_factory=RetryPolicy)

    # stop
    join_timeout_s: float = 5.0

    # process-wide (sys.setswitchinterval) when set: how long a thread may hold the GIL
    # while another waits; lower trims tick-to-order tails (see docs/NODE.md)
    gil_switch_interval_s: float | None = None

    def __post_init__(self) -> None:
        at_least(self, MIN_HEARTBEAT_INTERVAL_S, "heartbeat_interval")
        require(
            self.heartbeat_ttl > self.heartbeat_interval,
            self,
            "heartbeat_ttl",
            f"must be longer than heartbeat_interval ({self.heartbeat_interval})",
        )
        at_least(self, 1, "capacity", "workers", "mailbox_size", "feedback_mailbox_size", "worker_batch", "poll_batch")
        positive(self, "poll_timeout_s")
        at_least(self, 0, "feedback_snapshot_interval_s")
        positive_or_none(self, "max_tick_age_s", "equity_interval_s")
        for name in ("producer_linger_ms", "market_fetch_wait_ms"):
            value = getattr(self, name)
            require(value is None or value >= 0, self, name, "must be >= 0 (or None)")
        require(
            self.loop_stall_s > self.poll_timeout_s,
            self,
            "loop_stall_s",
            f"must be longer than poll_timeout_s ({self.poll_timeout_s})",
        )
        require(
            self.gil_switch_interval_s is None or 0 < self.gil_switch_interval_s <= MAX_GIL_SWITCH_INTERVAL_S,
            self,
            "gil_switch_interval_s",
            f"must be in (0, {MAX_GIL_SWITCH_INTERVAL_S}] seconds (or None)",
        )
