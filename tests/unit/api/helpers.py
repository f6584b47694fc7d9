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
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from livecore.control.events import AuditEvent
from livecore.domain.portfolio import Portfolio
from livecore.domain.spec import parse_spec
from livecore.node.hosted import encode_view
from livecore.ops import Ops
from livecore.ports.store import EquityPoint
from livecore.wire import names
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side
from tests.unit.ops.helpers import spec_text

TTL = 120.0
MARKET_TIME_NS = 1_714_564_800_123_456_789  # 2024-05-01T12:00:00.123456789Z, beyond a float's precision
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
    "market_time_ns": str(MARKET_TIME_NS),
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


# --- history: what the nodes, the gateway and the scheduler would have recorded ----------------

HOUR_NS = 3600 * 10**9
ALPHA_CURVE = ["100000", "100400", "101000", "100200", "99500", "100100", "100800", "101234.56"]
ALPHA_PEAK, ALPHA_TROUGH = Decimal("101000"), Decimal("99500")  # its deepest drawdown


def alpha_order(seq: int, side: Side = Side.BUY, qty: str = "5") -> NewOrder:
    return NewOrder(
        client_order_id=f"alpha-1-{seq}",
        portfolio_id="alpha",
        epoch=1,
        node_id="node-a",
        symbol="AAPL",
        side=side,
        quantity=Decimal(qty),
        created_ns=time.time_ns() - HOUR_NS + seq * 10**9,
    )


def alpha_fill(order: NewOrder, price: str) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=order.client_order_id,
        portfolio_id="alpha",
        epoch=1,
        symbol=order.symbol,
        side=order.side,
        fill_id=f"{order.client_order_id}-f1",
        fill_qty=order.quantity,
        fill_price=Decimal(price),
        cumulative_qty=order.quantity,
        commission=Decimal("0.35"),
        ts_ns=order.created_ns + 10**6,
    )


def simulate_history(ops: Ops) -> None:
    """Alpha's equity curve (a rise, a drawdown, a recovery) at epoch 1 on node-a;
    gamma's at epoch 2 on node-b then 3 on node-c; alpha's orders and fills in the
    journal (the last one still open); failovers, a lost node and a refused command
    in the audit."""
    now = time.time_ns()
    start = now - HOUR_NS
    step = HOUR_NS // len(ALPHA_CURVE)
    for i, equity in enumerate(ALPHA_CURVE):
        ops.store.equity.record(
            EquityPoint(
                portfolio_id="alpha",
                ts_ns=start + i * step,
                epoch=1,
                node_id="node-a",
                equity=Decimal(equity),
                cash=Decimal("98765.43"),
                realized_pnl=Decimal("12.5") if i > 3 else Decimal(0),
                unrealized_pnl=Decimal(equity) - Decimal("100000"),
            )
        )
    for i, (epoch, node_id) in enumerate([(2, "node-b"), (2, "node-b"), (3, "node-c")]):
        ops.store.equity.record(
            EquityPoint(
                portfolio_id="gamma",
                ts_ns=start + i * step,
                epoch=epoch,
                node_id=node_id,
                equity=Decimal(100000 + i),
                cash=Decimal(100000),
                realized_pnl=Decimal(0),
                unrealized_pnl=Decimal(i),
            )
        )
    for seq, price in ((1, "160.10"), (2, "162.25"), (3, None)):
        order = alpha_order(seq)
        ops.store.journal.record_order(order, received_ns=order.created_ns + 1000)
        if price is not None:
            ops.store.journal.record_feedback(alpha_fill(order, price))
    audit = ops.store.audit
    audit.record("scheduler", AuditEvent.NODE_LOST, {"node_id": "node-b", "portfolios": ["gamma"]}, start + step)
    audit.record(
        "scheduler",
        AuditEvent.FAILOVER,
        {"portfolio_id": "gamma", "from": "node-b", "to": "node-c", "epoch": 3},
        start + 2 * step,
    )
    audit.record(
        "node",
        AuditEvent.COMMAND_REFUSED,
        {"node_id": "node-a", "reason": "forged", "command": "node.pause", "portfolio_id": None, "nonce": "n1"},
        start + 3 * step,
    )
