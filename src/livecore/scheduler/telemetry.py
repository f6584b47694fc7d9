"""What a scheduler exports on its process's ``/metrics`` (label ``scheduler``).

Only the leader acts: a standby exports ``livecore_scheduler_leader 0`` and its
counters (which stop moving), and none of the gauges of the leader's view.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from livecore.scheduler.service import Scheduler
from livecore.telemetry import Counter, Gauge, HistogramOf, MetricSet, export

MIGRATION_GAP = "livecore_migration_gap_seconds"

SCHEDULER_METRICS: MetricSet[Scheduler] = MetricSet(
    "scheduler",
    (
        Gauge("livecore_scheduler_leader", "1 while this scheduler holds the leader lease.", lambda s: s.is_leader),
        Gauge(
            "livecore_scheduler_nodes_alive",
            "Nodes alive by heartbeat at the leader's last pass.",
            lambda s: None if s.figures is None else s.figures.nodes_alive,
        ),
        Gauge(
            "livecore_scheduler_portfolios_placed",
            "Portfolios desired running that the registry places on a node, at the leader's last pass.",
            lambda s: None if s.figures is None else s.figures.portfolios_placed,
        ),
        Gauge(
            "livecore_scheduler_portfolios_pending",
            "Portfolios waiting for a node (no capacity, no live node, refused), at the leader's last pass.",
            lambda s: None if s.figures is None else s.figures.portfolios_pending,
        ),
        Counter(
            "livecore_scheduler_placements_total",
            "New ownership epochs granted to a node (new portfolios, failovers, fence repairs).",
            lambda s: s.placements,
        ),
        Counter(
            "livecore_scheduler_failovers_total",
            "Portfolios taken from a dead node (placed again, or fenced ownerless until a node can take them).",
            lambda s: s.failovers,
        ),
        Counter(
            "livecore_scheduler_migrations_total",
            "Planned migrations that completed (operator requests and rebalancing).",
            lambda s: s.migrations_succeeded,
        ),
        Counter(
            "livecore_scheduler_migration_failures_total",
            "Planned migrations that failed (nothing changed hands, or failover took over).",
            lambda s: s.migrations_failed,
        ),
        Counter(
            "livecore_scheduler_sessions_closed_total",
            "Node sessions the leader saw closed between passes (a process gone; each started a pass at once).",
            lambda s: s.sessions_closed,
        ),
        Counter(
            "livecore_scheduler_stalls_total",
            "Stalls of the scheduler's own process it noticed (nodes got a grace period).",
            lambda s: s.stalls,
        ),
        HistogramOf(
            MIGRATION_GAP,
            "Trading gap of a planned migration: source acked its drain -> target acked the load (seconds).",
            lambda s: s.migration_gaps(),
        ),
    ),
)


def export_scheduler(scheduler: Scheduler, registry: CollectorRegistry) -> None:
    """``scheduler`` becomes the series ``scheduler=<its id>`` of every family above."""
    export(registry, SCHEDULER_METRICS, scheduler.config.scheduler_id, scheduler)
