"""The scheduler's own metrics: the leader's view, failovers, migrations and their gap."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from livecore.control.requests import MigrationRequest, read_result, write_json
from livecore.scheduler.telemetry import MIGRATION_GAP, export_scheduler
from livecore.testing.scrape import parse
from livecore.wire import names
from tests.unit.scheduler.harness import harness


def test_leader_view_failovers_and_migration_gap(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        h.deploy("p2")
        sched = h.scheduler(rebalance_moves=0)
        standby = h.scheduler(rebalance_moves=0)
        registry = CollectorRegistry()
        export_scheduler(sched, registry)
        export_scheduler(standby, registry)
        sid, other = sched.config.scheduler_id, standby.config.scheduler_id

        def scraped() -> dict[str, float | None]:
            s = parse(generate_latest(registry).decode())
            return {
                name: s.value(name, scheduler=sid)
                for name in (
                    "livecore_scheduler_leader",
                    "livecore_scheduler_nodes_alive",
                    "livecore_scheduler_portfolios_placed",
                    "livecore_scheduler_placements_total",
                    "livecore_scheduler_failovers_total",
                    "livecore_scheduler_migrations_total",
                    f"{MIGRATION_GAP}_count",
                )
            } | {"standby_leader": s.value("livecore_scheduler_leader", scheduler=other)}

        h.settle(sched)
        standby.tick()
        first = scraped()
        assert first["livecore_scheduler_leader"] == 1 and first["standby_leader"] == 0
        assert first["livecore_scheduler_nodes_alive"] == 1
        assert first["livecore_scheduler_portfolios_placed"] == 2
        assert first["livecore_scheduler_placements_total"] == 2
        assert first["livecore_scheduler_failovers_total"] == 0
        assert first[f"{MIGRATION_GAP}_count"] == 0

        h.node("b").beat()
        rid = uuid.uuid4().hex
        request = MigrationRequest(request_id=rid, portfolio_id="p1", to="b", requested_ns=1)
        write_json(h.coord, names.migration_request_key("p1"), request, 60)
        h.settle(sched)
        result = read_result(h.coord, rid)
        assert result is not None and result.ok and result.gap_ms is not None
        moved = scraped()
        assert moved["livecore_scheduler_migrations_total"] == 1
        assert moved[f"{MIGRATION_GAP}_count"] == 1
        assert sched.migration_gaps().sum == pytest.approx(result.gap_ms / 1000)

        a.die()
        h.settle(sched)
        failed_over = scraped()
        assert failed_over["livecore_scheduler_failovers_total"] == 1  # p2 was still on a
        assert failed_over["livecore_scheduler_nodes_alive"] == 1
        assert failed_over["livecore_scheduler_placements_total"] == 3  # p1, p2, then p2 again on b
