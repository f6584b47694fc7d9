"""Every topic name and coordination key of the wire contract, in one place.

The seed fixes `market.data`, `orders`, `orders.feedback`, `schedule.updates`,
`heartbeat:node:{node_id}` and `node:metrics:{node_id}`; the rest are ours.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKET_DATA = "market.data"
ORDERS = "orders"
ORDERS_FEEDBACK = "orders.feedback"
SCHEDULE_UPDATES = "schedule.updates"
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names with an optional deployment prefix (e.g. ``prod.``)."""

    prefix: str = ""

    @property
    def market_data(self) -> str:
        return self.prefix + MARKET_DATA

    @property
    def orders(self) -> str:
        return self.prefix + ORDERS

    @property
    def orders_feedback(self) -> str:
        return self.prefix + ORDERS_FEEDBACK

    @property
    def schedule_updates(self) -> str:
        return self.prefix + SCHEDULE_UPDATES

    def dlq(self, topic: str) -> str:
        """Dead-letter topic of ``topic`` (already prefixed)."""
        return topic + DLQ_SUFFIX

    def all(self) -> tuple[str, ...]:
        """The four main topics."""
        return (self.market_data, self.orders, self.orders_feedback, self.schedule_updates)


def node_group_id(node_id: str) -> str:
    """The seed's consumer group id of a node: ``execution_node_{node_id}``."""
    return f"execution_node_{node_id}"


# --- coordination keys (Redis in production) ---------------------------------


HEARTBEAT_PREFIX = "heartbeat:node:"


def heartbeat_key(node_id: str) -> str:
    """Seed key: SETEX'd with an ISO timestamp every heartbeat interval."""
    return HEARTBEAT_PREFIX + node_id


METRICS_PREFIX = "node:metrics:"


def metrics_key(node_id: str) -> str:
    """Seed key: hash of the node's metrics (``control.metrics.NodeMetrics``)."""
    return METRICS_PREFIX + node_id


def node_claim_key(node_id: str) -> str:
    """Held by the one live process that runs ``node_id`` (claim-if-absent)."""
    return f"node:claim:{node_id}"


def node_session_name(node_id: str) -> str:
    """The name of a node's coordination session (on Redis its ``CLIENT SETNAME``,
    shown by ``CLIENT LIST``); its token is in the node's metrics hash."""
    return f"livecore-node:{node_id}"


CLUSTER_HALT_KEY = "cluster:halt"  # the cluster kill switch: present while the cluster is halted


def portfolio_epoch_key(portfolio_id: str) -> str:
    """Ownership fence of a portfolio: current epoch and owning node."""
    return f"portfolio:epoch:{portfolio_id}"


SCHEDULER_LEADER_LEASE = "scheduler:leader"


def lease_epoch_key(lease: str) -> str:
    """The never-expiring epoch counter beside lease ``lease``, so an epoch never repeats."""
    return f"{lease}:epoch"


SCHEDULER_STATUS_KEY = "scheduler:status"  # the leader's ``SchedulerStatus``, refreshed every tick
MIGRATION_REQUEST_PREFIX = "scheduler:migration-request:"
MIGRATION_RESULT_PREFIX = "scheduler:migration-result:"


def migration_request_key(portfolio_id: str) -> str:
    """An operator's ``MigrationRequest`` for ``portfolio_id``, until the leader claims it."""
    return MIGRATION_REQUEST_PREFIX + portfolio_id


def migration_result_key(request_id: str) -> str:
    """The leader's ``MigrationResult`` for the request ``request_id``."""
    return MIGRATION_RESULT_PREFIX + request_id


def command_ack_key(nonce: str) -> str:
    """Where a node writes its ``CommandAck`` for the command with ``nonce``."""
    return f"command:ack:{nonce}"


PORTFOLIO_VIEW_PREFIX = "portfolio:view:"


def portfolio_view_key(portfolio_id: str) -> str:
    """JSON summary of a hosted portfolio (cash, equity, positions), refreshed by
    its node every heartbeat with the heartbeat TTL; read by ``livecore status``."""
    return PORTFOLIO_VIEW_PREFIX + portfolio_id


# --- bus health (each process says whether its message bus works) --------------

BUS_HEALTH_PREFIX = "bus:health:"


def bus_health_key(process: str) -> str:
    """Hash a gateway or feed process refreshes with a TTL: the ``BUS_*`` fields
    below plus ``updated_at``. Nodes carry the same fields in their metrics hash."""
    return f"{BUS_HEALTH_PREFIX}{process}"


NODE_PROCESS_PREFIX = "node:"


def node_process(node_id: str) -> str:
    """How a node names itself in bus-health reports (they live in its metrics hash)."""
    return NODE_PROCESS_PREFIX + node_id


def gateway_process(gateway_id: str) -> str:
    """A gateway process in ``bus_health_key``."""
    return f"gateway:{gateway_id}"


def feed_process(name: str) -> str:
    """A feed process in ``bus_health_key``."""
    return f"feed:{name}"


BUS_OK_FIELD = "bus_ok"  # "1" or "0"
BUS_REASON_FIELD = "bus_reason"  # what is wrong ("" when ok)
BUS_SINCE_FIELD = "bus_since_ns"  # wall-clock ns of the last change
BUS_LOST_FIELD = "bus_lost_records"  # records skipped behind retention (absent: unknown)
UPDATED_AT_FIELD = "updated_at"  # ISO time of the last refresh (metrics and bus-health hashes)

# the node's consumer loops, as named in its metrics hash
SCHEDULE_LOOP = "schedule_updates"
MARKET_LOOP = "market_data"
FEEDBACK_LOOP = "order_feedback"
NODE_LOOPS = (SCHEDULE_LOOP, MARKET_LOOP, FEEDBACK_LOOP)


def loop_failed_field(loop: str) -> str:
    """Metrics field: records the loop dead-lettered because handling them raised."""
    return f"{loop}_failed"


def loop_retries_field(loop: str) -> str:
    """Metrics field: tries the loop repeated after a failure."""
    return f"{loop}_retries"


def loop_errors_field(loop: str) -> str:
    """Metrics field: failures outside any record (e.g. the consumer's poll)."""
    return f"{loop}_errors"


DEAD_LETTERS_FIELD = "dead_letters"  # records the node dead-lettered, whatever the reason
OFFER_ERRORS_FIELD = "market_data_offer_errors"  # batches of ticks a portfolio's mailbox raised on
# counters that mean something went wrong: ``livecore status`` shows them when non-zero
NODE_PROBLEM_FIELDS = (
    DEAD_LETTERS_FIELD,
    OFFER_ERRORS_FIELD,
    *(loop_failed_field(loop) for loop in NODE_LOOPS),
    *(loop_errors_field(loop) for loop in NODE_LOOPS),
)
