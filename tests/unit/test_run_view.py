"""What `livecore run` shows in a terminal: tables that drop columns rather
than cut money or ids at 80 columns, a note when earlier state is resumed."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from livecore.cli.run_report import earlier_state
from livecore.cli.status import renderables
from livecore.cli.tables import Column, fitted
from livecore.config import DeploymentSettings
from livecore.ops.status import status
from tests.unit.api.helpers import simulate
from tests.unit.ops.helpers import world


def _text(width: int, *parts: object) -> str:
    console = Console(width=width, record=True, color_system=None)
    for part in parts:
        console.print(part)
    return console.export_text()


def test_a_narrow_table_drops_the_least_important_columns_and_never_cuts_a_cell() -> None:
    columns = [Column("id", 0), Column("note", 3, fold=True), Column("equity", 1, "right"), Column("cash", 2, "right")]
    rows = [["portfolio-with-a-long-id", "free text that may wrap", "1,234,567,890.12", "987,654,321.09"]]
    wide = _text(200, fitted("t", columns, rows, 200))
    assert all(cell in wide for cell in rows[0])
    narrow = _text(48, fitted("t", columns, rows, 48))
    assert "portfolio-with-a-long-id" in narrow and "1,234,567,890.12" in narrow
    assert "987,654,321.09" not in narrow and "cash" not in narrow  # dropped whole, not cut
    assert "…" not in narrow


def test_status_at_80_columns_keeps_every_money_figure_whole(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        simulate(w.ops)
        report = status(w.ops)
    text = _text(80, *renderables(report, 80))
    equities = [p.equity for p in report.portfolios if p.equity is not None]
    assert equities
    for equity in equities:
        assert f"{float(equity):,.2f}" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_run_over_earlier_state_says_so_and_how_to_start_fresh(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        settings = DeploymentSettings(db_url=w.settings.db_url)
        assert earlier_state(settings, "--fresh starts from scratch") is None
        simulate(w.ops)
        note = earlier_state(settings, "--fresh starts from scratch")
    assert note is not None and "resuming" in note and "--fresh starts from scratch" in note


def test_the_nodes_table_shows_read_amplification_and_partitions_read(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        simulate(w.ops)
        report = status(w.ops)
    row = next(n for n in report.nodes if n.node_id == "node-a")
    assert (row.read_amplification, row.market_partitions, row.market_partitions_total) == (1.18, 3, 8)
    wide = _text(220, *renderables(report, 220))
    assert "read amp." in wide and "1.18" in wide and "3/8" in wide
    narrow = _text(80, *renderables(report, 80))
    assert "node-a" in narrow and "3/8" not in narrow  # the least important node column goes first
