"""What the gateway counts (read by operators, tests and the replay's lockstep),
and the partition function both buses use for a portfolio's orders (the wire's
one partitioner, ``wire/partitioning.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from livecore.wire.partitioning import partition_of

__all__ = ["GatewayStats", "partition_of"]


@dataclass(slots=True)
class GatewayStats:
    """Counters of what the gateway did; read by operators and tests."""

    orders: int = 0
    duplicates: int = 0
    rejected_stale: int = 0
    rejected_no_owner: int = 0
    cancel_requests: int = 0
    cancels_unknown: int = 0
    cancels_stale: int = 0
    stale_resting_cancelled: int = 0
    malformed_orders: int = 0
    malformed_market: int = 0
    market_events: int = 0
    backlog_dropped: int = 0
    adopted: int = 0
    released: int = 0
    loop_errors: int = 0
    failed_orders: int = 0  # order records dead-lettered because handling them raised
    failed_market: int = 0  # market records dead-lettered because handling them raised
    failed_adoptions: int = 0  # journaled open orders that could not be adopted
    record_retries: int = 0  # tries repeated after a record's handling raised
    unanswered_known: int = 0  # journaled orders without outcome found at the venue (not resent)
    rejected_halted: int = 0  # orders of a portfolio halted because a report could not be journaled
    order_records: int = 0  # records of ``orders`` fully handled (answered, ignored or dead-lettered)
    end_of_data_cancelled: int = 0  # orders cancelled because a finite replay ended
    cluster_halt_cancelled: int = 0  # resting orders cancelled by the cluster kill switch
    rejected_cluster_halt: int = 0  # orders refused while halted: they would open or grow a position
