"""Every scheduler setting in one frozen object (no literal repeated elsewhere)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from livecore.checks import at_least, non_empty, non_negative, positive, positive_or_none, require
from livecore.config import ACK_TIMEOUT_S
from livecore.topology import DEFAULT_LAYOUT
from livecore.wire import names

LEASE_MARGIN_S = 0.5


def _default_id() -> str:
    return f"scheduler-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerConfig:
    """Timings are seconds.

    - ``tick_interval``: one observe/decide/act pass; also how often the lease is renewed.
    - ``lease_ttl``: the leader lease TTL; a standby takes over within it.
    - ``lease_margin``: a leader stops acting this long before its lease could expire,
      so that two schedulers never act in the same instant.
    - ``load_timeout``: a ``portfolio.load`` (or ``unload``) not confirmed by the node's
      metrics within this is sent again (the node treats a repeat as a no-op).
    - ``ack_timeout``: how long a migration waits for the source's ack and for the target's.
    - ``ack_poll``: how often acks are polled while a migration is in flight.
    - ``prepare_targets``: a migration's target gets ``portfolio.prepare`` when the
      migration begins (spec built, partitions assigned while the source drains),
      held ``2 * ack_timeout``; False for nodes that do not know the command.
    - ``dead_after``: if set, a node whose last heartbeat timestamp is older than this is
      dead even while its key lives (faster detection than the node's own TTL).
    - ``session_poll``: between passes, how often the leader reads the coordination
      sessions of the live nodes; one that closed (its process died) starts a pass at
      once (``scheduler/sessions.py``). None: sessions are read at each pass only.
    - ``default_capacity``: capacity assumed for a node whose metrics do not say.
    - ``affinity_slack``: a node may carry this many more portfolios than the least loaded
      one and still be preferred for reading the portfolio's market-data partitions
      already (or sharing its symbols): see ``placement.py``.
    - ``market_partitions``: the partition count of ``market.data``, to map a
      portfolio's symbols to the partitions a node would read (the wire's
      partitioner); it should match the topic (the layout's, by default): a
      different count only weakens affinity.
    - ``rebalance_moves``: migrations started per tick to even out load after a node joins
      (0 disables rebalancing).
    - ``max_migrations``: migrations in flight at once.
    - ``max_commands_per_tick``: loads, unloads and placements sent in one pass; the
      rest wait for the next, so a pass stays well inside the lease TTL (e.g. when
      a thousand portfolios are placed at once).
    - ``status_ttl``: lifetime of the leader's published status.
    - ``stall_threshold``: two observations of the cluster further apart than
      ``tick_interval`` plus this mean the scheduler's own process was stalled.
    - ``stall_grace``: after such a stall, nodes seen alive at the pass before it are
      presumed alive for this long, so that none is failed over for the scheduler's
      own stall (``scheduler/stall.py``); 0 disables it. A presumption never renews
      itself, so a real failover is delayed by at most this plus one pass.
    - ``lease_name``: the leader lease (only tests sharing one store need another).
    """

    scheduler_id: str = field(default_factory=_default_id)
    lease_name: str = names.SCHEDULER_LEADER_LEASE
    tick_interval: float = 1.0
    lease_ttl: float = 5.0
    lease_margin: float = LEASE_MARGIN_S
    load_timeout: float = 10.0
    ack_timeout: float = ACK_TIMEOUT_S
    ack_poll: float = 0.005
    prepare_targets: bool = True
    dead_after: float | None = None
    session_poll: float | None = 0.05
    default_capacity: int = 100
    affinity_slack: int = 1
    market_partitions: int = DEFAULT_LAYOUT.market_data
    rebalance_moves: int = 1
    max_migrations: int = 4
    max_commands_per_tick: int = 500
    status_ttl: float = 15.0
    stall_threshold: float = 2.0
    stall_grace: float = 5.0

    def __post_init__(self) -> None:
        non_empty(self, "scheduler_id")
        positive(self, "tick_interval", "lease_ttl", "load_timeout", "ack_timeout", "ack_poll", "status_ttl")
        non_negative(self, "lease_margin")
        require(self.lease_margin < self.lease_ttl, self, "lease_margin", f"must be < lease_ttl ({self.lease_ttl})")
        require(
            self.tick_interval < self.lease_ttl - self.lease_margin,
            self,
            "tick_interval",
            f"must be shorter than lease_ttl - lease_margin ({self.lease_ttl - self.lease_margin}), "
            "or the leader could not renew in time",
        )
        positive(self, "stall_threshold")
        non_negative(self, "stall_grace", "affinity_slack", "rebalance_moves")
        positive_or_none(self, "dead_after", "session_poll")
        at_least(self, 1, "default_capacity", "max_migrations", "max_commands_per_tick", "market_partitions")


def lease_margin_for(lease_ttl: float) -> float:
    """The default margin, shrunk for a short lease so that a pass still fits in it."""
    return min(LEASE_MARGIN_S, lease_ttl / 4)
