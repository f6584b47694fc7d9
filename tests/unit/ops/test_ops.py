"""Operator actions on the embedded backends, answered by threaded fake nodes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import msgspec
import pytest

from livecore import ops
from livecore.control.commands import AckTimeout
from livecore.ops.migrate import MigrationTimeout
from livecore.ops.portfolios import DeployRefused
from livecore.scheduler.config import SchedulerConfig
from livecore.scheduler.service import Scheduler
from livecore.wire import names
from tests.servers import wait_until
from tests.unit.ops.helpers import world, write_spec


def test_deploy_registers_valid_specs_and_reports_what_changed(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        files = [write_spec(tmp_path, "alpha"), write_spec(tmp_path, "beta", symbol="MSFT")]
        first = ops.deploy(w.ops, files)
        assert [(d.portfolio_id, d.action) for d in first.portfolios] == [("alpha", "created"), ("beta", "created")]
        entry = w.ops.store.registry.get("beta")
        assert entry is not None and entry.desired == "running" and entry.spec_toml == files[1].read_text()
        assert [d.action for d in ops.deploy(w.ops, files).portfolios] == ["unchanged", "unchanged"]
        write_spec(tmp_path, "alpha", fast=7)
        w.ops.store.registry.set_desired("beta", "stopped", 1)
        again = ops.deploy(w.ops, files)
        assert [d.action for d in again.portfolios] == ["updated", "started"]


def test_one_invalid_spec_refuses_the_lot_naming_file_and_field(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        good = write_spec(tmp_path, "good")
        bad = tmp_path / "bad.toml"
        bad.write_text(write_spec(tmp_path, "bad").read_text().replace("fast = 5", "fast = -5"))
        with pytest.raises(DeployRefused) as caught:
            ops.deploy(w.ops, [good, bad])
        message = str(caught.value)
        assert str(bad) in message and "strategy.params.fast" in message
        assert w.ops.store.registry.list() == []


def test_duplicate_ids_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        one = write_spec(tmp_path, "same")
        other = tmp_path / "copy.toml"
        other.write_text(one.read_text())
        with pytest.raises(DeployRefused, match="also the id"):
            ops.deploy(w.ops, [one, other])
        with pytest.raises(DeployRefused, match="cannot read"):
            ops.deploy(w.ops, [tmp_path / "missing.toml"])


def test_list_shows_spec_details_and_placement(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha", symbol="IBM")])
        w.ops.store.registry.set_placement("alpha", "n1", 3, 5)
        (row,) = ops.list_portfolios(w.ops)
        assert (row.portfolio_id, row.symbols, row.strategy, row.node_id, row.epoch) == (
            "alpha",
            ["IBM"],
            "ma_crossover",
            "n1",
            3,
        )


def test_stop_unloads_from_the_owner_and_waits_for_its_ack(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        node = w.node("n1")
        w.place("alpha", node)
        node.start()
        result = ops.stop_portfolio(w.ops, "alpha")
        assert result.unload is not None and result.unload.ok
        assert node.loaded == {}
        entry = w.ops.store.registry.get("alpha")
        assert entry is not None and entry.desired == "stopped"


def test_remove_stops_first_then_deletes(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        node = w.node("n1")
        w.place("alpha", node)
        node.start()
        result = ops.remove_portfolio(w.ops, "alpha")
        assert result.removed and result.unload is not None and result.unload.ok
        assert node.loaded == {} and w.ops.store.registry.get("alpha") is None
        with pytest.raises(ops.OpsError, match="no portfolio"):
            ops.remove_portfolio(w.ops, "alpha")


def test_reload_goes_to_the_hosting_node(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        with pytest.raises(ops.OpsError, match="not running on any node"):
            ops.reload(w.ops, "alpha")
        node = w.node("n1")
        w.place("alpha", node)
        node.start()
        answer = ops.reload(w.ops, "alpha")
        assert answer.ok and answer.node_id == "n1" and answer.command == "portfolio.reload"


def test_a_silent_node_times_out_with_a_clear_message(tmp_path: Path) -> None:
    with world(tmp_path, ack_timeout=0.3) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        node = w.node("n1")
        node.answer = False
        w.place("alpha", node)
        node.start()
        with pytest.raises(AckTimeout, match=r"node n1 did not acknowledge portfolio.reload alpha within 0.3s"):
            ops.reload(w.ops, "alpha")


def test_node_commands_need_a_live_node_and_return_its_answer(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        with pytest.raises(ops.OpsError, match="not alive"):
            ops.node_pause(w.ops, "ghost")
        node = w.node("n1")
        node.start()
        wait_until(lambda: w.ops.coord.get(names.heartbeat_key("n1")) is not None, 5, "n1 beats")
        assert ops.node_pause(w.ops, "n1").ok
        assert node.state == "paused"
        assert ops.node_resume(w.ops, "n1").ok
        assert node.state == "running"
        assert ops.node_shutdown(w.ops, "n1").ok
        assert node.shut_down


def test_migrate_needs_a_leader_and_returns_the_leaders_result(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        a, b = w.node("a", interval=0.01), w.node("b", interval=0.01)
        a.start()
        with pytest.raises(ops.OpsError, match="not running on any node"):
            ops.migrate(w.ops, "alpha", "b")
        config = SchedulerConfig(tick_interval=0.05, lease_ttl=2.0, rebalance_moves=0)
        sched = Scheduler(config, w.ops.coord, w.ops.store, w.ops.commands())
        sched.tick()
        wait_until(lambda: a.loaded.get("alpha") == 1, 5, "alpha loaded on a")
        sched.stop()  # gives the lease up: nobody leads
        with pytest.raises(ops.OpsError, match="no scheduler is leading"):
            ops.migrate(w.ops, "alpha", "b")
        b.start()
        sched = Scheduler(config, w.ops.coord, w.ops.store, w.ops.commands())
        sched.start()
        wait_until(lambda: w.ops.coord.current_lease(names.SCHEDULER_LEADER_LEASE) is not None, 5, "a leader")
        wait_until(lambda: w.ops.coord.hgetall(names.metrics_key("b")) != {}, 5, "b reports")
        result = ops.migrate(w.ops, "alpha", "auto")
        assert result.ok and (result.source, result.target, result.epoch) == ("a", "b", 2)
        assert result.gap_ms is not None
        assert b.loaded == {"alpha": 2}
        with pytest.raises(ops.OpsError, match="already runs on b"):
            ops.migrate(w.ops, "alpha", "b")
        sched.stop()


def test_migrate_times_out_and_withdraws_a_request_nobody_took(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        w.ops.store.registry.set_placement("alpha", "a", 1, 1)
        # A lease held by a scheduler that does nothing.
        w.ops.coord.acquire_lease(names.SCHEDULER_LEADER_LEASE, "asleep", 30)
        with pytest.raises(MigrationTimeout, match="never took the request"):
            ops.migrate(w.ops, "alpha", "b", timeout=0.2)
        assert w.ops.coord.scan("scheduler:migration-request:") == []


def test_status_reports_nodes_portfolios_and_views(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, p) for p in ("alpha", "beta", "gamma")])
        node = w.node("n1", capacity=8)
        w.place("alpha", node)
        w.ops.store.registry.set_desired("gamma", "stopped", 1)
        view = {"portfolio_id": "alpha", "node_id": "n1", "equity": "100012.5", "cash": "90000",
                "positions": {"AAPL": {"quantity": "10", "avg_cost": "100", "market_value": "1012.5"}},
                "last_order_id": "alpha-1-7", "faulted": False, "fault": None}  # fmt: skip
        w.ops.coord.set(names.portfolio_view_key("alpha"), json.dumps(view), 30)
        report = ops.status(w.ops)
        assert report.leader.scheduler_id is None
        (n1,) = report.nodes
        assert n1.alive and n1.state == "running" and n1.portfolio_count == 1 and n1.capacity == 8
        by_id = {p.portfolio_id: p for p in report.portfolios}
        alpha = by_id["alpha"]
        assert (alpha.state, alpha.node_id, alpha.epoch, alpha.fence_epoch, alpha.fence_owner) == (
            "running",
            "n1",
            1,
            1,
            "n1",
        )
        assert (alpha.equity, alpha.cash, alpha.last_order_id) == ("100012.5", "90000", "alpha-1-7")
        assert alpha.positions["AAPL"].quantity == "10"
        assert by_id["beta"].state == "pending: awaiting placement"
        assert by_id["gamma"].state == "stopped"
        node.die()
        report = ops.status(w.ops)
        assert {p.portfolio_id: p.state for p in report.portfolios}["alpha"] == "pending: no live node"
        assert [(n.node_id, n.alive, n.state) for n in report.nodes] == [("n1", False, "dead")]
        # The JSON shape is plain and stable.
        shape = json.loads(msgspec.json.encode(report))
        top = {
            "generated_at",
            "leader",
            "nodes",
            "portfolios",
            "migrations",
            "health",
            "problems",
            "bus",
            "halt",
            "venues",
        }
        assert set(shape) == top
        assert set(shape["portfolios"][0]) >= {"portfolio_id", "state", "node_id", "epoch", "equity", "positions"}


def test_status_shows_the_leader_and_its_pending_reasons(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ops.deploy(w.ops, [write_spec(tmp_path, "alpha")])
        config = SchedulerConfig(scheduler_id=f"s-{uuid.uuid4().hex[:4]}", tick_interval=0.05, lease_ttl=2.0)
        sched = Scheduler(config, w.ops.coord, w.ops.store, w.ops.commands())
        sched.tick()
        report = ops.status(w.ops)
        assert report.leader.scheduler_id == config.scheduler_id and report.leader.epoch is not None
        assert report.portfolios[0].state == "pending: no live node"


def test_deploy_with_reload_applies_a_changed_spec_to_the_running_copy(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        path = write_spec(tmp_path, "alpha")
        ops.deploy(w.ops, [path])
        node = w.node("n1")
        w.place("alpha", node)
        node.start()
        write_spec(tmp_path, "alpha", fast=8)
        result = ops.deploy(w.ops, [path], reload_updated=True)
        (item,) = result.portfolios
        assert item.action == "updated" and item.reload is not None and item.reload.ok
        assert node.commands[-1].command == "portfolio.reload"
        entry = w.ops.store.registry.get("alpha")
        assert entry is not None and "fast = 8" in entry.spec_toml
