"""A running system simulated in the stores: what nodes and the scheduler would
have written (heartbeats, metrics hashes, portfolio views, fences, registry
rows), so the API can be read without starting any of them.

The cluster:

- ``node-a``: alive, running; hosts ``alpha`` (epoch 1, a position in AAPL) and
  ``beta`` (epoch 2, faulted);
- ``node-b``: alive, paused, hosts nothing;
- ``node-c``: dead (its metrics linger, its heartbeat is gone); ``gamma`` was
  placed there (epoch 3), so it is pending failover;
- ``delta``: registered, stopped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from livecore.domain.portfolio import Portfolio
from livecore.domain.spec import parse_spec
from livecore.node.hosted import encode_view
from livecore.ops import Ops
from livecore.wire import names
from tests.unit.ops.helpers import spec_text

TTL = 120.0
TOKEN = "s3cret-token"

NODE_A = {
    "portfolio_count": "2",
    "queue_size": "1.50",
    "cpu_usage": "12.5",
    "memory_usage": str(96 * 1024 * 1024),
    "total_events": "123456",
    "backpressure_count": "7",
    "dropped_events": "3",
    "portfolios": json.dumps({"alpha": 1, "beta": 2}),
    "state": "running",
    "capacity": "100",
    "faulted": "1",
    "orders_sent": "42",
    "market_events": "59000",
    "routed_events": "50000",
    "read_amplification": "1.18",
    "market_partitions": "3",
    "market_partitions_total": "8",
}
NODE_B = {**NODE_A, "portfolio_count": "0", "portfolios": "{}", "state": "paused", "faulted": "0", "cpu_usage": "0.5"}
NODE_C = {**NODE_A, "portfolio_count": "1", "portfolios": json.dumps({"gamma": 3}), "faulted": "0"}


def view_json(pid: str, epoch: int, node_id: str, **overrides: Any) -> str:
    """A real ``Portfolio.view()`` as its node publishes it, with some fields changed."""
    portfolio = Portfolio.create(parse_spec(spec_text(pid), source=pid), epoch, node_id)
    view = json.loads(encode_view(portfolio.view(), node_id))
    view.update(overrides)
    return json.dumps(view)


def node(ops: Ops, node_id: str, metrics: dict[str, str], heartbeat_age: float | None) -> None:
    """Metrics for ``node_id``; a heartbeat ``heartbeat_age`` seconds old (None: no heartbeat)."""
    now = datetime.now(UTC)
    fields = {**metrics, "started_at": (now - timedelta(hours=1)).isoformat(), "updated_at": now.isoformat()}
    ops.coord.hset(names.metrics_key(node_id), fields, ttl=TTL)
    if heartbeat_age is not None:
        ops.coord.set(names.heartbeat_key(node_id), (now - timedelta(seconds=heartbeat_age)).isoformat(), ttl=TTL)


def place(ops: Ops, pid: str, node_id: str, epoch: int, desired: str = "running") -> None:
    ops.store.registry.upsert(pid, spec_text(pid), "running", 1)
    ops.coord.advance_fence(names.portfolio_epoch_key(pid), epoch, node_id)
    ops.store.registry.set_placement(pid, node_id, epoch, 2)
    if desired != "running":
        ops.store.registry.set_desired(pid, "stopped", 3)  # type: ignore[arg-type]


def simulate(ops: Ops) -> None:
    node(ops, "node-a", NODE_A, heartbeat_age=0.4)
    node(ops, "node-b", NODE_B, heartbeat_age=0.2)
    node(ops, "node-c", NODE_C, heartbeat_age=None)
    place(ops, "alpha", "node-a", 1)
    place(ops, "beta", "node-a", 2)
    place(ops, "gamma", "node-c", 3)
    ops.store.registry.upsert("delta", spec_text("delta"), "stopped", 4)
    alpha = view_json(
        "alpha",
        1,
        "node-a",
        cash="98765.43",
        equity="101234.56",
        positions={
            "AAPL": {
                "quantity": "15",
                "avg_cost": "164.62",
                "market_value": "2469.13",
                "unrealized_pnl": "0",
                "last_price": "164.61",
                "reserved_qty": "0",
            }
        },
        last_order_id="alpha-1-17",
        orders_count=17,
        fills_count=12,
        realized_pnl="12.5",
    )
    beta = view_json("beta", 2, "node-a", faulted=True, fault="ZeroDivisionError: division by zero", equity="50000")
    ops.coord.set(names.portfolio_view_key("alpha"), alpha, ttl=TTL)
    ops.coord.set(names.portfolio_view_key("beta"), beta, ttl=TTL)
