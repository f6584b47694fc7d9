"""The operator CLI through typer's CliRunner, on the embedded backends (the runner
invokes the app in this process, so memory:// names are shared with the fake nodes)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from livecore.cli.app import app
from livecore.ops.portfolios import DeployRefused
from livecore.wire import names
from tests.servers import wait_until
from tests.unit.ops.helpers import World, world, write_spec

runner = CliRunner()


def invoke(w: World, *args: str) -> tuple[int, str, BaseException | None]:
    s = w.settings
    base = ["--bus", s.bus_url, "--coord", s.coord_url, "--db", s.db_url, "--secret", s.secret]
    result = runner.invoke(app, [*base, *args])
    return result.exit_code, result.output, result.exception


def test_deploy_list_and_json(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        code, out, _ = invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "alpha")))
        assert code == 0 and "created: alpha" in out
        code, out, _ = invoke(w, "portfolio", "list", "--json")
        assert code == 0
        (row,) = json.loads(out)
        assert row["portfolio_id"] == "alpha" and row["desired"] == "running" and row["node_id"] is None
        code, out, _ = invoke(w, "portfolio", "list")
        assert code == 0 and "alpha" in out and "ma_crossover" in out


def test_deploy_refuses_invalid_specs(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        bad = tmp_path / "bad.toml"
        bad.write_text('id = "x"\ninitial_cash = 1\nsymbols = ["A"]\n')
        code, _, exc = invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "ok")), str(bad))
        assert code != 0 and isinstance(exc, DeployRefused)
        assert str(bad) in str(exc) and "strategy" in str(exc)


def test_stop_reload_remove_wait_for_the_node(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "alpha")))
        node = w.node("n1")
        w.place("alpha", node)
        node.start()
        code, out, _ = invoke(w, "portfolio", "reload", "alpha")
        assert code == 0 and "ok: node n1: portfolio.reload alpha" in out
        code, out, _ = invoke(w, "portfolio", "stop", "alpha", "--json")
        assert code == 0 and json.loads(out)["unload"]["ok"] is True
        code, out, _ = invoke(w, "portfolio", "remove", "alpha")
        assert code == 0 and "removed: alpha" in out
        assert w.ops.store.registry.get("alpha") is None


def test_a_refusal_exits_1(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "alpha")))
        node = w.node("n1")
        w.place("alpha", node)
        node.loaded.clear()  # registry says n1, but n1 does not host it: reload is refused
        node.start()
        code, out, _ = invoke(w, "portfolio", "reload", "alpha")
        assert code == 1 and "refused" in out


def test_status_tables_and_json(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "alpha")), str(write_spec(tmp_path, "beta")))
        node = w.node("n1")
        w.place("alpha", node)
        code, out, _ = invoke(w, "status")
        assert code == 0
        assert "no leader" in out and "n1" in out and "alpha" in out and "running" in out
        assert "pending: awaiting placement" in out
        code, out, _ = invoke(w, "status", "--json")
        report = json.loads(out)
        assert report["leader"]["scheduler_id"] is None
        assert report["nodes"][0]["node_id"] == "n1"
        assert {p["portfolio_id"]: p["state"] for p in report["portfolios"]} == {
            "alpha": "running",
            "beta": "pending: awaiting placement",
        }


def test_scheduler_command_leads_places_and_stops(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "alpha")))
        node = w.node("n1")
        node.start()
        wait_until(lambda: w.ops.coord.get(names.heartbeat_key("n1")) is not None, 5, "n1 beats")
        code, out, exc = invoke(w, "scheduler", "--id", "cli-sched", "--tick", "0.05", "--duration", "1")
        assert code == 0, (out, exc)
        assert node.loaded == {"alpha": 1}
        assert w.ops.coord.current_lease(names.SCHEDULER_LEADER_LEASE) is None  # released on exit
        assert w.ops.coord.get(names.SCHEDULER_STATUS_KEY) is not None


def test_migrate_without_a_leader_is_an_error(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, "alpha")))
        w.ops.store.registry.set_placement("alpha", "n1", 1, 1)
        code, _, exc = invoke(w, "portfolio", "migrate", "alpha", "--to", "auto")
        assert code != 0 and "no scheduler is leading" in str(exc)


def test_state_across_invocations_on_redis_and_sqlite(tmp_path: Path, redis_url: str) -> None:
    with world(tmp_path, coord_url=redis_url) as w:
        pid = f"redis-{tmp_path.name[-8:]}".replace("_", "-")
        invoke(w, "portfolio", "deploy", str(write_spec(tmp_path, pid)))
        node = w.node(f"n-{pid}")
        w.place(pid, node)
        code, out, _ = invoke(w, "status", "--json")
        assert code == 0
        states = {p["portfolio_id"]: (p["state"], p["node_id"]) for p in json.loads(out)["portfolios"]}
        assert states[pid] == ("running", node.node_id)


def test_node_pause_resume_shutdown_wait_for_the_ack(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        node = w.node("n1")
        node.start()
        wait_until(lambda: w.ops.coord.get(names.heartbeat_key("n1")) is not None, 5, "n1 beats")
        code, out, _ = invoke(w, "node", "pause", "n1")
        assert code == 0 and "ok: node n1: node.pause" in out and node.state == "paused"
        code, out, _ = invoke(w, "node", "resume", "n1", "--json")
        assert code == 0 and json.loads(out)["ok"] is True and node.state == "running"
        code, out, _ = invoke(w, "node", "shutdown", "n1")
        assert code == 0 and node.shut_down
        code, _, exc = invoke(w, "node", "pause", "ghost")
        assert code != 0 and "not alive" in str(exc)


def test_status_shows_a_nodes_problem_counters_only_when_non_zero(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        w.node("n1")
        code, out, _ = invoke(w, "status")
        assert code == 0 and "problems" not in out
        fields = {
            names.OFFER_ERRORS_FIELD: "3",
            names.loop_failed_field(names.FEEDBACK_LOOP): "1",
            names.loop_errors_field(names.MARKET_LOOP): "0",
            names.DEAD_LETTERS_FIELD: "0",
        }
        w.ops.coord.hset(names.metrics_key("n1"), fields, 30)
        code, out, _ = invoke(w, "status")
        assert code == 0 and "problems" in out
        assert f"{names.OFFER_ERRORS_FIELD} 3" in out and f"{names.loop_failed_field(names.FEEDBACK_LOOP)} 1" in out
        assert names.DEAD_LETTERS_FIELD not in out  # zero: not shown
        code, out, _ = invoke(w, "status", "--json")
        assert json.loads(out)["nodes"][0]["problems"] == {
            names.OFFER_ERRORS_FIELD: 3,
            names.loop_failed_field(names.FEEDBACK_LOOP): 1,
        }
