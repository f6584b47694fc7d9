"""A portfolio's record over HTTP: equity curve, epochs, orders and fills, paged."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from tests.unit.api.helpers import ALPHA_CURVE, TOKEN, simulate_history
from tests.unit.ops.helpers import World


@pytest.fixture
def client(system: World) -> Iterator[TestClient]:
    simulate_history(system.ops)
    with TestClient(create_app(system.ops, ApiConfig(token=TOKEN)), raise_server_exceptions=False) as c:
        yield c


def test_the_equity_curve_is_exact_oldest_first_and_paged(client: TestClient) -> None:
    body = client.get("/api/portfolios/alpha/equity").json()
    assert body["portfolio_id"] == "alpha" and body["initial_cash"] == "100000"
    assert [p["equity"] for p in body["points"]] == ALPHA_CURVE
    assert body["before_ns"] is None
    first = body["points"][0]
    assert set(first) == {
        "portfolio_id",
        "ts_ns",
        "epoch",
        "node_id",
        "equity",
        "cash",
        "realized_pnl",
        "unrealized_pnl",
    }
    assert (first["epoch"], first["node_id"], first["cash"]) == (1, "node-a", "98765.43")
    newest = client.get("/api/portfolios/alpha/equity", params={"limit": 3}).json()
    assert [p["equity"] for p in newest["points"]] == ALPHA_CURVE[-3:]
    older = client.get("/api/portfolios/alpha/equity", params={"limit": 3, "before_ns": newest["before_ns"]}).json()
    assert [p["equity"] for p in older["points"]] == ALPHA_CURVE[-6:-3]
    since = client.get("/api/portfolios/alpha/equity", params={"after_ns": newest["points"][1]["ts_ns"]}).json()
    assert [p["equity"] for p in since["points"]] == ALPHA_CURVE[-1:]


def test_initial_cash_comes_from_the_spec_without_a_live_view(client: TestClient) -> None:
    body = client.get("/api/portfolios/gamma/equity").json()  # no view: its node is dead
    assert body["initial_cash"] == "100000"
    assert [Decimal(p["equity"]) for p in body["points"]] == [100000, 100001, 100002]
    assert client.get("/api/portfolios/delta/equity").json()["points"] == []


def test_epochs_say_where_it_ran(client: TestClient) -> None:
    body = client.get("/api/portfolios/gamma/epochs").json()
    assert (body["node_id"], body["epoch"]) == ("node-c", 3)
    assert [(e["epoch"], e["node_id"], e["points"]) for e in body["epochs"]] == [(2, "node-b", 2), (3, "node-c", 1)]


def test_orders_newest_first_with_status_and_paged(client: TestClient) -> None:
    body = client.get("/api/portfolios/alpha/orders", params={"limit": 2}).json()
    orders = body["orders"]
    assert [o["order"]["client_order_id"] for o in orders] == ["alpha-1-3", "alpha-1-2"]
    assert [(o["status"], o["filled_qty"]) for o in orders] == [(None, "0"), ("filled", "5")]
    assert orders[1]["order"]["side"] == "buy" and orders[1]["order"]["quantity"] == "5"
    rest = client.get("/api/portfolios/alpha/orders", params={"limit": 2, "before": body["before"]}).json()
    assert [o["order"]["client_order_id"] for o in rest["orders"]] == ["alpha-1-1"] and rest["before"] is None


def test_fills_newest_first_and_paged(client: TestClient) -> None:
    body = client.get("/api/portfolios/alpha/fills", params={"limit": 1}).json()
    assert [f["feedback"]["fill_id"] for f in body["fills"]] == ["alpha-1-2-f1"]
    assert body["fills"][0]["feedback"]["fill_price"] == "162.25"
    rest = client.get("/api/portfolios/alpha/fills", params={"before": body["before"]}).json()
    assert [f["feedback"]["fill_id"] for f in rest["fills"]] == ["alpha-1-1-f1"] and rest["before"] is None


@pytest.mark.parametrize("path", ["equity", "epochs", "orders", "fills"])
def test_unknown_portfolio_is_404(client: TestClient, path: str) -> None:
    response = client.get(f"/api/portfolios/ghost/{path}")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 100_000}, {"before": -1}, {"before": "x"}, {"before_ns": -5}]
)
def test_bad_limits_and_cursors_are_422(client: TestClient, query: dict[str, object]) -> None:
    path = "equity" if "before_ns" in query else "orders"
    response = client.get(f"/api/portfolios/alpha/{path}", params=query)
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"
