"""The dashboard in a real headless Chromium (Debian's ``chromium`` package driven
by Playwright), against the API serving a simulated cluster from a background
thread. Skipped, saying why, where Chromium is not installed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.api.helpers import TOKEN, simulate
from tests.unit.ops.helpers import World, world

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from livecore.api.server import ApiServer
from livecore.wire import names

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 10_000
NO_VALUE = "\u2013"  # what the page shows for a missing value (en dash)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() or shutil.which("chromium") is None,
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); CI installs it",
    ),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[World, ApiServer]]:
    with world(tmp_path) as w:
        simulate(w.ops)
        server = ApiServer(create_app(w.ops, ApiConfig(token=TOKEN)), "127.0.0.1", 0)
        server.start()
        try:
            yield w, server
        finally:
            server.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            yield context.new_page()
        finally:
            browser.close()


def row(page: Any, kind: str, ident: str) -> Any:
    return page.locator(f'#{kind}s tbody tr[data-{kind}="{ident}"]')


def cells(page: Any, kind: str, ident: str) -> list[str]:
    return [text.strip() for text in row(page, kind, ident).locator("td").all_inner_texts()]


def test_dashboard_shows_the_cluster_and_follows_it(served: tuple[World, ApiServer], page: Any, tmp_path: Path) -> None:
    w, server = served
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(server.url + "/")
    page.wait_for_selector('#nodes tbody tr[data-node="node-c"]', timeout=WAIT_MS)
    page.wait_for_selector('#portfolios tbody tr[data-portfolio="delta"]', timeout=WAIT_MS)
    page.wait_for_selector(".connection.live", timeout=WAIT_MS)

    # Nodes: live ones with their metrics, the dead one highlighted.
    assert page.locator("#nodes tbody tr").count() == 3
    node_a = cells(page, "node", "node-a")
    assert node_a[:2] == ["node-a", "running"]
    assert node_a[3:] == ["2 / 100", "1.50", "12.5 %", "96.0 MiB", "7", "3", "123,456"]
    assert node_a[2].endswith(" s")
    assert cells(page, "node", "node-b")[1] == "paused"
    assert cells(page, "node", "node-c")[1] == "dead"
    assert "row-dead" in (row(page, "node", "node-c").get_attribute("class") or "")
    assert "row-dead" not in (row(page, "node", "node-a").get_attribute("class") or "")

    # Portfolios: money, positions, last order; faulted and pending highlighted.
    assert page.locator("#portfolios tbody tr").count() == 4
    assert cells(page, "portfolio", "alpha") == [
        "alpha",
        "running",
        "node-a",
        "1",
        "101,234.56",
        "98,765.43",
        "AAPL 15",
        "alpha-1-17",
    ]
    beta = cells(page, "portfolio", "beta")
    assert beta[1].startswith("faulted") and "ZeroDivisionError: division by zero" in beta[1]
    assert "row-faulted" in (row(page, "portfolio", "beta").get_attribute("class") or "")
    gamma = cells(page, "portfolio", "gamma")
    assert gamma[1].startswith("pending") and "node node-c is dead; awaiting failover" in gamma[1]
    assert gamma[2] == "node-c" and gamma[4] == NO_VALUE
    assert "row-pending" in (row(page, "portfolio", "gamma").get_attribute("class") or "")
    assert cells(page, "portfolio", "delta")[1] == "stopped"

    # Summary and leader.
    assert page.inner_text("#sum-nodes") == "2 / 3"
    assert page.inner_text("#sum-running") == "1 / 4"
    assert page.inner_text("#sum-pending") == "1" and page.inner_text("#sum-faulted") == "1"
    assert "no scheduler leads" in page.inner_text("#leader")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # It follows the system: node-a dies, its portfolio turns pending.
    w.ops.coord.delete(names.heartbeat_key("node-a"))
    page.wait_for_selector('#nodes tbody tr[data-node="node-a"].row-dead', timeout=WAIT_MS)
    page.wait_for_selector('#portfolios tbody tr[data-portfolio="alpha"].row-pending', timeout=WAIT_MS)
    assert page.inner_text("#sum-nodes") == "1 / 3"

    # The filter keeps only matching portfolios, across refreshes.
    page.fill("#filter", "gam")
    page.wait_for_function("document.querySelectorAll('#portfolios tbody tr').length === 1", timeout=WAIT_MS)
    assert row(page, "portfolio", "gamma").count() == 1
    page.fill("#filter", "")
    page.wait_for_function("document.querySelectorAll('#portfolios tbody tr').length === 4", timeout=WAIT_MS)

    # The server goes away: the page says so and keeps the last tables.
    server.stop()
    page.wait_for_selector(".connection.down", timeout=WAIT_MS)
    assert page.locator("#nodes tbody tr").count() == 3
    assert page.inner_text("#connection") == "disconnected: server unreachable"
    page.screenshot(path=str(tmp_path / "dashboard-disconnected.png"), full_page=True)

    network_errors = [e for e in errors if "Failed to load resource" in e or "net::" in e]
    assert [e for e in errors if e not in network_errors] == []
