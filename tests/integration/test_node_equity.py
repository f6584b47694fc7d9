"""What a node records for the dashboard: an equity point with the snapshots it
saves (at most one per ``equity_interval_s``, stamped with the node's "now":
the event clock in event time), and the newest market event time in its
metrics hash."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.control.metrics import NodeMetrics
from livecore.wire import names

DATA_NS = 1_300_000_000 * 10**9  # 2011-03-13: a replay's event time, far from the wall clock


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig("embedded", request, tmp_path)


def market_time(rig: NodeRig, node_id: str) -> int | None:
    return NodeMetrics.from_hash(rig.coord.hgetall(names.metrics_key(node_id))).market_time_ns


def test_a_loaded_portfolio_records_equity_points_and_the_node_reports_market_time(rig: NodeRig) -> None:
    node = rig.running_node(equity_interval_s=0.2)
    pid = rig.pid()
    rig.load(node, pid, ["AAA"], cash=100000)
    first = rig.store.equity.points(pid, limit=10)
    assert [(p.epoch, p.node_id, p.equity, p.cash) for p in first] == [
        (1, node.node_id, Decimal(100000), Decimal(100000))
    ]
    now = time.time_ns()
    rig.tick("AAA", "10", ts_ns=now - 10**6)
    rig.tick("AAA", "10", ts_ns=now)
    wait_until(lambda: market_time(rig, node.node_id) == now, TIMEOUT, "market time in the metrics hash")
    # the market events leave the portfolio dirty: the periodic snapshot brings a second point
    wait_until(lambda: len(rig.store.equity.points(pid, limit=10)) >= 2, TIMEOUT, "a second equity point")
    points = rig.store.equity.points(pid, limit=10)
    assert all(b.ts_ns > a.ts_ns for a, b in itertools.pairwise(points))
    assert points[-1].ts_ns > now  # stamped with the wall clock


def test_a_stale_tick_still_moves_the_market_time(rig: NodeRig) -> None:
    node = rig.running_node()
    rig.load(node, rig.pid(), ["AAA"], cash=100000)  # a node reads only its portfolios' partitions
    rig.tick("AAA", "10", ts_ns=DATA_NS)  # skipped as stale, but seen
    wait_until(lambda: market_time(rig, node.node_id) == DATA_NS, TIMEOUT, "market time in the metrics hash")


def test_in_event_time_points_carry_the_data_time(rig: NodeRig) -> None:
    node = rig.running_node(equity_interval_s=0.1, event_time=True, max_tick_age_s=None)
    pid = rig.pid()
    rig.load(node, pid, ["AAA"], cash=100000)
    rig.tick("AAA", "10", ts_ns=DATA_NS)
    wait_until(lambda: market_time(rig, node.node_id) == DATA_NS, TIMEOUT, "market time in the metrics hash")
    wait_until(
        lambda: any(p.ts_ns == DATA_NS for p in rig.store.equity.points(pid, limit=10)),
        TIMEOUT,
        "an equity point at the data's time",
    )
