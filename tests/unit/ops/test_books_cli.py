"""`livecore books check` on a SQLite database: the table, the JSON shape and the
exit code (0 when every portfolio is OK or only in flight, 1 on a mismatch)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from livecore.adapters.sql_store import SqlStore
from livecore.cli.app import app
from tests.unit.ops.test_books import PID, _fill, _portfolio

runner = CliRunner()
SECOND = 1_000_000_000


def books(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db, "books", "check", *args])
    return result.exit_code, result.output


def setup(tmp_path: Path, fill_age_s: float, in_snapshot: bool) -> str:
    """One portfolio with one journaled fill ``fill_age_s`` before its snapshot (taken now)."""
    db = f"sqlite:///{tmp_path / 'books.db'}"
    store = SqlStore(db)
    try:
        store.registry.upsert(PID, _spec(), "running", 1)
        portfolio, order = _portfolio(store)
        now = time.time_ns()
        fill = _fill(order, ts_ns=now - int(fill_age_s * SECOND))
        store.journal.record_order(order, 1)
        store.journal.record_feedback(fill)
        if in_snapshot:
            portfolio.on_feedback(fill)
        store.snapshots.save(PID, portfolio.epoch, portfolio.snapshot(), now)
    finally:
        store.close()
    return db


def _spec() -> str:
    from livecore.testing.strategies import spec_toml

    return spec_toml(PID, ["AAA"], params="quantity = 10", cash=10_000)


def test_all_applied_is_ok_exit_0(tmp_path: Path) -> None:
    code, out = books(setup(tmp_path, 100.0, in_snapshot=True))
    assert code == 0, out
    assert PID in out and "OK" in out and "8993.75" in out


def test_a_recent_fill_not_in_the_snapshot_is_in_flight_exit_0(tmp_path: Path) -> None:
    code, out = books(setup(tmp_path, 2.0, in_snapshot=False))
    assert code == 0, out
    assert "IN_FLIGHT" in out and f"{PID}: in flight: f1" in out


def test_an_old_fill_not_in_the_snapshot_is_lost_exit_1(tmp_path: Path) -> None:
    db = setup(tmp_path, 100.0, in_snapshot=False)
    code, out = books(db)
    assert code == 1, out
    assert "MISMATCH" in out and "LOST" in out and "f1" in out
    assert "10000" in out and "8993.75" in out  # the snapshot's cash next to the journal's
    code, out = books(db, "--settle", "300")  # a longer settle time: still on its way
    assert code == 0 and "IN_FLIGHT" in out
    code, out = books(db, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["mismatches"] == 1 and report["settle_s"] == 30.0
    (row,) = report["portfolios"]
    assert (row["portfolio_id"], row["status"], row["lost_fill_ids"]) == (PID, "MISMATCH", ["f1"])
    assert (Decimal(row["snapshot_cash"]), Decimal(row["journal_cash"])) == (Decimal(10_000), Decimal("8993.75"))
