"""Browser tests: a fresh page per test, and a full-page screenshot of it saved
when the test fails (its path printed)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

# Where failing browser tests leave their screenshots (CI may collect this folder).
ARTIFACTS = Path(os.environ.get("LIVECORE_ARTIFACTS", Path(tempfile.gettempdir()) / "livecore-artifacts"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so a fixture can tell a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; on failure, a full-page screenshot in ``ARTIFACTS``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            opened = context.new_page()
            yield opened
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                name = re.sub(r"[^\w.-]+", "_", request.node.name)
                shot = ARTIFACTS / "dashboard" / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                opened.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot of the failing page: {shot}")
        finally:
            browser.close()
