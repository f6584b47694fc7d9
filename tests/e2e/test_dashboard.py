"""The dashboard in a real headless Chromium (Debian's ``chromium`` package driven
by Playwright), against the API serving a simulated cluster from a background
thread: the overview, a portfolio page with its charts, the events page, the
controls and the cluster halt banner. Skipped, saying why, where Chromium is
not installed; a failing test leaves a screenshot (see ``conftest.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.browser import HAVE_CHROMIUM
from tests.servers import wait_until
from tests.unit.api.helpers import TOKEN, simulate, simulate_history
from tests.unit.ops.helpers import World, world

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.api.server import ApiServer
from livecore.control.events import AuditEvent
from livecore.control.metrics import NodeMetrics
from livecore.ops.halt import halt_status
from livecore.ports.store import EquityPoint
from livecore.wire import names

WAIT_MS = 10_000
NO_VALUE = "\u2013"  # what the page shows for a missing value (en dash)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not HAVE_CHROMIUM,
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); CI installs it",
    ),
]


def serve(w: World) -> ApiServer:
    app = create_app(w.ops, ApiConfig(token=TOKEN, history_interval_s=0.2))
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    return server


@pytest.fixture
def system(tmp_path: Path) -> Iterator[World]:
    with world(tmp_path, ack_timeout=5.0) as w:
        simulate(w.ops)
        simulate_history(w.ops)
        yield w


@pytest.fixture
def served(system: World) -> Iterator[tuple[World, ApiServer]]:
    server = serve(system)
    try:
        yield system, server
    finally:
        server.stop()


def row(page: Any, table: str, attr: str, ident: str) -> Any:
    return page.locator(f'#{table} tbody tr[data-{attr}="{ident}"]')


def cells(page: Any, table: str, attr: str, ident: str) -> list[str]:
    return [text.strip() for text in row(page, table, attr, ident).locator("td").all_inner_texts()]


def node_cells(page: Any, node_id: str) -> list[str]:
    return cells(page, "nodes", "node", node_id)


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def script_errors(errors: list[str]) -> list[str]:
    """Errors of the page's own code (a refused request is logged by the browser too)."""
    return [e for e in errors if "Failed to load resource" not in e and "net::" not in e]


def test_overview_shows_the_cluster_and_follows_it(served: tuple[World, ApiServer], page: Any, tmp_path: Path) -> None:
    w, server = served
    # the leader lost node-z a moment ago (before this page, or this API process, saw it)
    w.ops.store.audit.record("scheduler", AuditEvent.NODE_LOST, {"node_id": "node-z", "portfolios": []}, time.time_ns())
    errors = console_errors(page)
    page.goto(server.url + "/")
    page.wait_for_selector('#nodes tbody tr[data-node="node-c"]', timeout=WAIT_MS)
    page.wait_for_selector('#portfolios tbody tr[data-portfolio="delta"]', timeout=WAIT_MS)
    page.wait_for_selector(".connection.live", timeout=WAIT_MS)

    # Nodes: live ones with their metrics, health strip and market time; the dead and lost ones highlighted.
    page.wait_for_selector('#nodes tbody tr[data-node="node-z"][data-state="lost"]', timeout=WAIT_MS)
    assert node_cells(page, "node-z")[3].startswith("lost ")
    assert page.locator("#nodes tbody tr").count() == 4
    node_a = node_cells(page, "node-a")
    assert node_a[:2] == ["node-a", "running"]
    assert node_a[3].endswith(" s")
    assert node_a[4:12] == ["2 / 100", "1.50", "12.5 %", "96.0 MiB", "7", "3", "123,456", "2024-05-01 12:00:00Z"]
    assert node_a[12] == "pause"
    page.wait_for_selector('#nodes tr[data-node="node-a"] .strip i.s-running', timeout=WAIT_MS)
    assert node_cells(page, "node-b")[1] == "paused" and node_cells(page, "node-b")[12] == "resume"
    assert node_cells(page, "node-c")[1] == "dead"
    assert "row-dead" in (row(page, "nodes", "node", "node-c").get_attribute("class") or "")

    # Portfolios: money, P&L, return; faulted and pending highlighted; a link to each page.
    assert page.locator("#portfolios tbody tr").count() == 4
    assert cells(page, "portfolios", "portfolio", "alpha") == [
        "alpha",
        "running",
        "node-a",
        "1",
        "101,234.56",
        "+12.50",
        "0.00",
        "+1.23 %",
        "AAPL 15",
        "alpha-1-17",
    ]
    assert "gain" in (row(page, "portfolios", "portfolio", "alpha").locator("td").nth(7).get_attribute("class") or "")
    beta = cells(page, "portfolios", "portfolio", "beta")
    assert beta[1].startswith("faulted") and "ZeroDivisionError: division by zero" in beta[1]
    assert beta[7] == "-50.00 %"
    gamma = cells(page, "portfolios", "portfolio", "gamma")
    assert gamma[1].startswith("pending") and "node node-c is dead; awaiting failover" in gamma[1]
    assert gamma[4] == NO_VALUE
    assert cells(page, "portfolios", "portfolio", "delta")[1] == "stopped"
    assert row(page, "portfolios", "portfolio", "alpha").locator("a").get_attribute("href") == "#/portfolio/alpha"

    # Summary, market data time, bus, leader; not halted: the halt button, no banner.
    assert page.inner_text("#sum-nodes") == "2 / 4"
    assert page.inner_text("#sum-running") == "1 / 4"
    assert page.inner_text("#sum-pending") == "1" and page.inner_text("#sum-faulted") == "1"
    assert page.inner_text("#sum-market") == "12:00:00Z" and "2024-05-01" in page.inner_text("#sum-market-age")
    assert page.inner_text("#sum-bus") == "ok"
    assert "no scheduler leads" in page.inner_text("#leader")
    page.wait_for_selector("#halt-control:not([hidden]) button", timeout=WAIT_MS)
    assert page.locator("#halt-banner").is_hidden()
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    # It follows the system: node-a dies, its portfolio turns pending.
    w.ops.coord.delete(names.heartbeat_key("node-a"))
    page.wait_for_selector('#nodes tbody tr[data-node="node-a"].row-dead', timeout=WAIT_MS)
    page.wait_for_selector('#portfolios tbody tr[data-portfolio="alpha"].row-pending', timeout=WAIT_MS)
    assert page.inner_text("#sum-nodes") == "1 / 4"
    # node-b is killed outright: heartbeat and metrics gone. It stays on the page, lost.
    w.ops.coord.delete(names.heartbeat_key("node-b"))
    w.ops.coord.delete(names.metrics_key("node-b"))
    page.wait_for_selector('#nodes tbody tr[data-node="node-b"][data-state="lost"]', timeout=WAIT_MS)
    assert node_cells(page, "node-b")[3].startswith("seen ")
    page.wait_for_selector('#nodes tr[data-node="node-b"] .strip i.s-lost', timeout=WAIT_MS)

    # The filter keeps only matching portfolios, across refreshes.
    page.fill("#filter", "gam")
    page.wait_for_function("document.querySelectorAll('#portfolios tbody tr').length === 1", timeout=WAIT_MS)
    assert row(page, "portfolios", "portfolio", "gamma").count() == 1
    page.fill("#filter", "")
    page.wait_for_function("document.querySelectorAll('#portfolios tbody tr').length === 4", timeout=WAIT_MS)

    # The server goes away: the page says so and keeps the last tables.
    server.stop()
    page.wait_for_selector(".connection.down", timeout=WAIT_MS)
    assert page.locator("#nodes tbody tr").count() == 4
    assert page.inner_text("#connection") == "disconnected: server unreachable"
    assert script_errors(errors) == []


def drawn_pixels(page: Any, selector: str) -> dict[str, int]:
    """The canvas's size and how many of its pixels are not transparent."""
    result: dict[str, int] = page.eval_on_selector(
        selector,
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let drawn = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
            return {width: canvas.width, height: canvas.height, drawn};
        }""",
    )
    return result


def test_portfolio_page_draws_its_curve_and_lists_its_record(
    served: tuple[World, ApiServer], page: Any, tmp_path: Path
) -> None:
    w, server = served
    errors = console_errors(page)
    page.goto(server.url + "/")
    page.click('#portfolios a[href="#/portfolio/alpha"]')
    page.wait_for_selector("#equity-chart canvas", timeout=WAIT_MS)
    page.wait_for_selector("#drawdown-chart canvas", timeout=WAIT_MS)
    for chart in ("#equity-chart canvas", "#drawdown-chart canvas"):
        pixels = drawn_pixels(page, chart)
        assert pixels["width"] > 200 and pixels["height"] > 50, pixels
        assert pixels["drawn"] > 500, pixels  # axes, grid and the line are drawn
    assert page.inner_text("#p-title") == "alpha"
    assert page.get_attribute("#p-state", "data-state") == "running"
    assert "node node-a" in page.inner_text("#p-where") and "epoch 1" in page.inner_text("#p-where")
    assert page.inner_text("#p-equity") == "101,234.56" and page.inner_text("#p-realized") == "+12.50"
    assert page.inner_text("#p-return") == "+1.23 %"
    assert page.inner_text("#p-maxdd") == "-1.49 %"  # 99,500 after a peak of 101,000
    assert page.inner_text("#p-curdd") == "0.00 %"
    assert page.inner_text("#p-points").startswith("8 points since")

    # Positions and risk state from the live view; orders, fills and epochs from the store.
    assert cells(page, "p-positions", "symbol", "AAPL")[:2] == ["AAPL", "15"]
    assert "enabled" in page.inner_text("#p-risk")
    page.wait_for_selector('#p-orders tbody tr[data-order="alpha-1-1"]', timeout=WAIT_MS)
    assert page.locator("#p-orders tbody tr").count() == 3
    assert cells(page, "p-orders", "order", "alpha-1-2")[-1] == "filled"
    assert cells(page, "p-orders", "order", "alpha-1-3")[-1] == "no answer yet"
    assert page.locator("#p-fills tbody tr").count() == 2
    assert cells(page, "p-fills", "fill", "alpha-1-2-f1")[4:6] == ["5", "162.25"]
    assert cells(page, "p-epochs", "epoch", "1")[:2] == ["1", "node-a"]
    assert "placed on node-a at epoch 1" in page.inner_text("#p-placed")
    page.screenshot(path=str(tmp_path / "portfolio.png"), full_page=True)

    # Live: a new point recorded by the node shows on the page, and a deeper drawdown.
    w.ops.store.equity.record(
        EquityPoint(
            portfolio_id="alpha",
            ts_ns=w.ops.store.equity.points("alpha", 1)[0].ts_ns + 10**9,
            epoch=1,
            node_id="node-a",
            equity=Decimal("96000"),
            cash=Decimal("96000"),
            realized_pnl=Decimal(0),
            unrealized_pnl=Decimal(0),
        )
    )
    page.wait_for_function("document.getElementById('p-points').textContent.startsWith('9 points')", timeout=WAIT_MS)
    assert page.inner_text("#p-maxdd") == "-5.17 %"  # 96,000 after the peak of 101,234.56

    # A portfolio whose node died: its history (two epochs on two nodes) and its failover.
    page.goto(server.url + "/#/portfolio/gamma")
    page.wait_for_selector('#p-epochs tbody tr[data-epoch="2"]', timeout=WAIT_MS)
    assert cells(page, "p-epochs", "epoch", "3")[:2] == ["3", "node-c"]
    assert cells(page, "p-epochs", "epoch", "2")[:2] == ["2", "node-b"]
    page.wait_for_selector('#p-events tbody tr[data-event="failover"]', timeout=WAIT_MS)
    assert "no live view" in page.inner_text("#p-risk")
    assert script_errors(errors) == []


def test_events_page_lists_the_audit_filters_and_pages(served: tuple[World, ApiServer], page: Any) -> None:
    w, server = served
    for i in range(55):  # newer than the simulated ones: they fill the first page of 50
        w.ops.store.audit.record("node", AuditEvent.PORTFOLIO_RELOADED, {"node_id": "node-a", "n": i}, i + 1)
    errors = console_errors(page)
    page.goto(server.url + "/")
    page.click('nav a[data-page="events"]')
    page.wait_for_selector('#events tbody tr[data-event="portfolio_reloaded"]', timeout=WAIT_MS)
    assert page.locator("#events tbody tr").count() == 50
    assert page.locator('#events tbody tr[data-event="failover"]').count() == 0

    page.click('#events-nav button:has-text("older")')
    page.wait_for_selector('#events tbody tr[data-event="failover"]', timeout=WAIT_MS)
    assert page.locator("#events tbody tr").count() == 8  # 5 reloads, then the three simulated
    assert page.inner_text("#events-nav .page-label") == "page 2"
    assert page.locator('#events tbody tr[data-event="node_lost"]').count() == 1
    refused = cells(page, "events", "event", "command_refused")
    assert refused[1:4] == ["command_refused", "node", "node-a"] and "reason: forged" in refused[4]
    failover = cells(page, "events", "event", "failover")
    assert failover[3] == "gamma" and "node-b → node-c" in failover[4]
    page.click('#events-nav button:has-text("newer")')
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length === 50", timeout=WAIT_MS)

    page.click('#event-groups button[data-group="failovers"]')
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length === 1", timeout=WAIT_MS)
    assert page.locator('#events tbody tr[data-event="failover"]').count() == 1
    page.click('#event-groups button[data-group="halts"]')
    page.wait_for_selector("#events tbody tr.empty", timeout=WAIT_MS)
    assert script_errors(errors) == []


def confirm(page: Any) -> None:
    page.wait_for_selector("#confirm-dialog[open]", timeout=WAIT_MS)
    page.click("#confirm-dialog [data-confirm]")


def test_a_confirmed_control_changes_the_system(system: World, page: Any) -> None:
    fake = system.node("node-a")
    fake.loaded = {"alpha": 1, "beta": 2}
    fake.start()
    server = serve(system)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector('#nodes tr[data-node="node-a"] button:has-text("pause")', timeout=WAIT_MS)

        # A wrong token is refused and forgotten; nothing changes.
        page.click('#nodes tr[data-node="node-a"] button:has-text("pause")')
        confirm(page)
        page.wait_for_selector("#token-dialog[open]", timeout=WAIT_MS)
        page.fill("#token-dialog input", "wrong-token")
        page.click("#token-dialog button[type=submit]")
        page.wait_for_selector(".toast.bad", timeout=WAIT_MS)
        assert "invalid API token" in page.inner_text("#toast")
        assert fake.state == "running"
        assert page.inner_text("#token-button") == "unlock controls"

        # Cancelling the confirmation sends nothing.
        page.click('#nodes tr[data-node="node-a"] button:has-text("pause")')
        page.wait_for_selector("#confirm-dialog[open]", timeout=WAIT_MS)
        page.click("#confirm-dialog [data-cancel]")
        assert page.locator("#confirm-dialog[open]").count() == 0

        # The right token, asked once: the node is paused, and the page follows.
        page.click("#token-button")
        page.fill("#token-dialog input", TOKEN)
        page.click("#token-dialog button[type=submit]")
        page.wait_for_selector('#token-button[data-state="unlocked"]', timeout=WAIT_MS)
        page.click('#nodes tr[data-node="node-a"] button:has-text("pause")')
        assert "Pause node node-a?" in page.inner_text("#confirm-dialog h3")
        confirm(page)
        page.wait_for_selector(".toast.ok", timeout=WAIT_MS)
        assert "paused" in page.inner_text("#toast")
        assert fake.state == "paused"
        wait_until(
            lambda: NodeMetrics.from_hash(system.ops.coord.hgetall(names.metrics_key("node-a"))).state == "paused",
            10,
            "node-a reporting paused",
        )
        page.wait_for_selector('#nodes tbody tr[data-node="node-a"][data-state="paused"]', timeout=WAIT_MS)

        # Resume from the same row (no token asked again).
        page.click('#nodes tr[data-node="node-a"] button:has-text("resume")')
        confirm(page)
        page.wait_for_selector('#nodes tbody tr[data-node="node-a"][data-state="running"]', timeout=WAIT_MS)
        assert fake.state == "running"
        assert page.locator("#token-dialog[open]").count() == 0

        # A portfolio's controls: reload reaches its node; stop unloads it and marks it stopped.
        page.click('#portfolios a[href="#/portfolio/alpha"]')
        page.wait_for_selector('#p-controls button:has-text("reload")', timeout=WAIT_MS)
        page.click('#p-controls button:has-text("reload")')
        confirm(page)
        wait_until(lambda: any(c.command == "portfolio.reload" for c in fake.commands), 10, "the reload at node-a")
        page.wait_for_selector('.toast.ok:has-text("reloaded")', timeout=WAIT_MS)
        page.click('#p-controls button:has-text("migrate")')
        page.wait_for_selector("#confirm-dialog[open]", timeout=WAIT_MS)
        options = page.eval_on_selector_all("#confirm-dialog select option", "os => os.map(o => o.value)")
        assert options == ["auto", "node-b"]  # placement's choice, or another live node
        page.click("#confirm-dialog [data-cancel]")
        page.click('#p-controls button:has-text("stop")')
        assert "Stop alpha?" in page.inner_text("#confirm-dialog h3")
        confirm(page)
        page.wait_for_selector('#p-state[data-state="stopped"]', timeout=WAIT_MS)
        entry = system.ops.store.registry.get("alpha")
        assert entry is not None and entry.desired == "stopped"
        assert "alpha" not in fake.loaded
        page.wait_for_selector('#p-controls span:has-text("stopped")', timeout=WAIT_MS)
    finally:
        server.stop()


def test_a_halted_cluster_shows_a_banner_on_every_page(system: World, page: Any) -> None:
    fake = system.node("node-a")  # answers the halt and reports it applied; node-b does not answer
    fake.start()
    server = serve(system)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#halt-control:not([hidden]) button", timeout=WAIT_MS)
        assert page.locator("#halt-banner").is_hidden()
        page.evaluate(f"sessionStorage.setItem('livecore.api.token', {TOKEN!r})")
        page.click("#halt-control button")
        page.wait_for_selector("#confirm-dialog[open]", timeout=WAIT_MS)
        assert "Halt the whole cluster?" in page.inner_text("#confirm-dialog h3")
        page.fill('#confirm-dialog input[name="reason"]', "exchange outage")
        page.check('#confirm-dialog input[name="flatten"]')
        page.click("#confirm-dialog [data-confirm]")
        page.wait_for_selector("#halt-banner:not([hidden])", timeout=WAIT_MS)  # node-b's ack times out (5 s)
        state = halt_status(system.ops)
        assert (state.halted, state.reason, state.flatten) == (True, "exchange outage", True)
        assert fake.halted
        page.wait_for_function(
            "document.getElementById('halt-banner').innerText.includes('1 / 2 nodes acknowledged')", timeout=WAIT_MS
        )
        text = page.inner_text("#halt-banner")
        assert "CLUSTER HALTED" in text and "reason: exchange outage" in text and "positions flattened" in text
        assert "by api@127.0.0.1" in text and "not yet acknowledged: node-b" in text
        assert page.locator("#halt-control").is_hidden()
        for route in ("#/portfolio/alpha", "#/events"):
            page.goto(server.url + "/" + route)
            page.wait_for_selector("#halt-banner:not([hidden])", timeout=WAIT_MS)
            assert page.locator("body.halted").count() == 1
        page.click('#event-groups button[data-group="halts"]')  # the halt is audited
        page.wait_for_selector('#events tbody tr[data-event="cluster_halt"]', timeout=WAIT_MS)
        page.click('#halt-resume button:has-text("resume cluster")')
        confirm(page)
        page.wait_for_selector("#halt-banner[hidden]", state="attached", timeout=WAIT_MS)
        assert halt_status(system.ops).halted is False and not fake.halted
    finally:
        server.stop()
