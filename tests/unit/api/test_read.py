"""The read-only endpoints over the simulated cluster."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fastapi.testclient import TestClient

from livecore.api import app as app_module
from livecore.wire import names
from tests.unit.api.conftest import AUTH
from tests.unit.api.helpers import MARKET_TIME_NS
from tests.unit.ops.helpers import World


def test_status_lists_nodes_and_portfolios_with_their_states(client: TestClient) -> None:
    response = client.get("/api/status")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    report = response.json()
    assert set(report) == {
        "generated_at",
        "leader",
        "nodes",
        "portfolios",
        "migrations",
        "health",
        "problems",
        "bus",
        "halt",
    }
    nodes = {n["node_id"]: n for n in report["nodes"]}
    assert {nid: (n["alive"], n["state"]) for nid, n in nodes.items()} == {
        "node-a": (True, "running"),
        "node-b": (True, "paused"),
        "node-c": (False, "dead"),
    }
    a = nodes["node-a"]
    assert (a["portfolio_count"], a["capacity"], a["queue_size"], a["cpu_usage"]) == (2, 100, 1.5, 12.5)
    assert (a["memory_usage"], a["backpressure_count"], a["dropped_events"], a["total_events"]) == (
        96 * 1024 * 1024,
        7,
        3,
        123456,
    )
    assert 0.3 < a["heartbeat_age_s"] < 60
    states = {p["portfolio_id"]: p["state"] for p in report["portfolios"]}
    assert states == {
        "alpha": "running",
        "beta": "faulted",
        "gamma": "pending: node node-c is dead; awaiting failover",
        "delta": "stopped",
    }
    alpha = next(p for p in report["portfolios"] if p["portfolio_id"] == "alpha")
    assert (alpha["node_id"], alpha["epoch"], alpha["equity"], alpha["cash"]) == ("node-a", 1, "101234.56", "98765.43")
    assert alpha["positions"]["AAPL"]["quantity"] == "15"
    assert alpha["last_order_id"] == "alpha-1-17"
    assert report["leader"]["scheduler_id"] is None


def test_status_carries_market_time_and_pnl(client: TestClient) -> None:
    report = client.get("/api/status").json()
    nodes = {n["node_id"]: n for n in report["nodes"]}
    assert nodes["node-a"]["market_time_ns"] == MARKET_TIME_NS
    portfolios = {p["portfolio_id"]: p for p in report["portfolios"]}
    alpha = portfolios["alpha"]
    assert (alpha["initial_cash"], alpha["realized_pnl"], alpha["unrealized_pnl"]) == ("100000", "12.5", "0")
    assert alpha["return_ratio"] == "0.01234560" and alpha["halted"] is False
    assert portfolios["beta"]["return_ratio"] == "-0.50000000"
    assert portfolios["gamma"]["return_ratio"] is None  # no view


def test_portfolio_list_comes_from_the_registry(client: TestClient) -> None:
    response = client.get("/api/portfolios")
    assert response.status_code == 200
    rows = {r["portfolio_id"]: r for r in response.json()}
    assert sorted(rows) == ["alpha", "beta", "delta", "gamma"]
    assert (rows["alpha"]["strategy"], rows["alpha"]["symbols"], rows["alpha"]["desired"]) == (
        "ma_crossover",
        ["AAPL"],
        "running",
    )
    assert (rows["gamma"]["node_id"], rows["gamma"]["epoch"]) == ("node-c", 3)
    assert rows["delta"]["desired"] == "stopped"


def test_one_portfolio_has_registry_status_and_live_view(client: TestClient) -> None:
    body = client.get("/api/portfolios/alpha").json()
    assert set(body) == {"portfolio", "status", "view"}
    assert body["portfolio"]["portfolio_id"] == "alpha"
    assert body["status"]["state"] == "running"
    assert body["view"]["realized_pnl"] == "12.5" and body["view"]["fills_count"] == 12
    stopped = client.get("/api/portfolios/delta").json()
    assert stopped["status"]["state"] == "stopped" and stopped["view"] is None


def test_unknown_portfolio_and_route_are_json_404s(client: TestClient) -> None:
    response = client.get("/api/portfolios/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "no portfolio 'nope' in the registry"}
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = client.delete("/api/status", headers=AUTH)
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"
    assert client.delete("/api/status").status_code == 401  # auth first, for every mutating method


def test_odd_ids_never_500(client: TestClient) -> None:
    for pid in ("%00", "a%2Fb", "x" * 500, "é", "..", "'; drop table registry; --"):
        response = client.get(f"/api/portfolios/{pid}")
        assert response.status_code in (404, 422), (pid, response.status_code, response.text)
        assert "message" in response.json()


def test_a_malformed_view_is_shown_as_missing_not_an_error(system: World, client: TestClient) -> None:
    system.ops.coord.set(names.portfolio_view_key("alpha"), "{not json", ttl=60)
    assert client.get("/api/portfolios/alpha").json()["view"] is None
    assert client.get("/api/status").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_health_reports_each_backend(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "coordination": "ok", "store": "ok", "bus": "ok"}


def test_dashboard_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="nodes"' in page.text and 'id="portfolios"' in page.text
    assert "/static/dashboard.js" in page.text
    assert "://" not in page.text  # works offline: nothing loaded from elsewhere
    script = client.get("/static/dashboard.js")
    assert script.status_code == 200 and "/api/status" in script.text and "://" not in script.text
    assert client.get("/static/dashboard.css").status_code == 200
    assert client.get("/static/missing.js").status_code == 404
    static = Path(app_module.__file__).parent / "static"
    for module in sorted(static.glob("*.js")):  # every page module, each free of other hosts
        served = client.get(f"/static/{module.name}")
        assert served.status_code == 200 and "://" not in served.text, module.name
        assert served.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for asset in ("vendor/uplot/uPlot.iife.min.js", "vendor/uplot/uPlot.min.css", "vendor/uplot/LICENSE"):
        assert client.get(f"/static/{asset}").status_code == 200, asset
        assert f"/static/{asset}" in page.text
    vendored = client.get("/static/vendor/uplot/uPlot.iife.min.js").text
    assert vendored.startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")  # the pinned version
    assert "fetch(" not in vendored and "XMLHttpRequest" not in vendored  # a library that loads nothing


def test_the_openapi_schema_is_served_but_no_cdn_backed_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/portfolios/{portfolio_id}/migrate" in schema["paths"] and "/api/status" in schema["paths"]
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_every_dashboard_file_is_package_data() -> None:
    """The wheel carries the dashboard: each file under ``api/static`` matches a
    ``package-data`` pattern of pyproject.toml."""
    root = Path(app_module.__file__).parents[1]  # src/livecore
    pyproject = tomllib.loads((root.parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["livecore"]
    covered = {path for pattern in patterns for path in root.glob(pattern) if path.is_file()}
    static = {path for path in (root / "api" / "static").rglob("*") if path.is_file()}
    assert static and static <= covered, sorted(str(p.relative_to(root)) for p in static - covered)
