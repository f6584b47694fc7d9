"""The audit log's event names: written by the scheduler, the nodes and the
kill switch, read by the operator surfaces (the dashboard's events page, its
filters). Spelled here once; each entry's ``detail`` is a JSON object whose
keys the emitter chooses, ``portfolio_id`` and ``node_id`` where an entry is
about one.
"""

from __future__ import annotations

import enum


class AuditEvent(enum.StrEnum):
    # scheduler
    LEADER_ELECTED = "leader_elected"
    NODE_JOINED = "node_joined"  # the leader sees a node alive that was not
    NODE_LOST = "node_lost"  # the leader sees a node dead that was alive
    FAILOVER = "failover"  # a dead node's portfolio placed anew (or fenced ownerless)
    MIGRATION = "migration"
    MIGRATION_FAILED = "migration_failed"
    LOAD_REFUSED = "load_refused"
    STALE_COPY = "stale_copy"
    # nodes
    COMMAND_REFUSED = "command_refused"
    COMMAND_REPLAYED = "command_replayed"
    CODE_MISMATCH = "code_mismatch"
    PORTFOLIO_ISOLATED = "portfolio_isolated"  # feedback given up: its books need a reload
    PORTFOLIO_DROPPED = "portfolio_dropped"  # its fence moved on
    PORTFOLIO_MIGRATED_OUT = "portfolio_migrated_out"
    PORTFOLIO_RELOADED = "portfolio_reloaded"
    # the cluster's kill switch
    CLUSTER_HALT = "cluster_halt"
    CLUSTER_RESUME = "cluster_resume"


# What an operator looks for, each a set of events (the events page's filters).
EVENT_GROUPS: dict[str, frozenset[AuditEvent]] = {
    "failovers": frozenset({AuditEvent.FAILOVER}),
    "migrations": frozenset({AuditEvent.MIGRATION, AuditEvent.MIGRATION_FAILED, AuditEvent.PORTFOLIO_MIGRATED_OUT}),
    "nodes": frozenset({AuditEvent.NODE_JOINED, AuditEvent.NODE_LOST, AuditEvent.LEADER_ELECTED}),
    "refused": frozenset(
        {AuditEvent.COMMAND_REFUSED, AuditEvent.COMMAND_REPLAYED, AuditEvent.LOAD_REFUSED, AuditEvent.CODE_MISMATCH}
    ),
    "faults": frozenset({AuditEvent.PORTFOLIO_ISOLATED, AuditEvent.PORTFOLIO_DROPPED, AuditEvent.STALE_COPY}),
    "halts": frozenset({AuditEvent.CLUSTER_HALT, AuditEvent.CLUSTER_RESUME}),
}
