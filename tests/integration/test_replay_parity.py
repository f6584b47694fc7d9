"""Parity of the backtest and the live path, through the commands a user runs:
``livecore backtest`` and ``livecore run --data ... --event-time --speed 0
--no-loop`` give the same orders and fills (client order ids, sides,
quantities, prices, event timestamps, final states), on the embedded default
and on Tansu + redis-server + PostgreSQL. The run must also stop by itself
once the data has ended and every order has settled, and its final report
give the backtest's statistics."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from livecore.adapters.factory import open_store
from livecore.testing.parity import backtest_rows, journal_rows
from livecore.testing.servers import postgres_database

DAY_S = 86_400
BARS = 120
# the run must end by itself; this only keeps a broken run from hanging the suite
RUN_TIMEOUT_S = 600


def _write_bars(folder: Path, symbol: str, seed: int) -> None:
    """Daily bars of a random walk in cents: crossovers and limit fills both happen."""
    rnd = random.Random(seed)
    cents = 10_000
    lines = ["date,open,high,low,close,volume"]
    for day in range(BARS):
        open_ = cents
        close = max(1_000, cents + rnd.randint(-400, 400))
        high = max(open_, close) + rnd.randint(0, 150)
        low = min(open_, close) - rnd.randint(0, 150)
        date = f"{1_262_304_000 + day * DAY_S}"  # epoch seconds from 2010-01-01
        lines.append(
            f"{date},{open_ / 100:.2f},{high / 100:.2f},{low / 100:.2f},{close / 100:.2f},{rnd.randint(1, 9) * 1000}"
        )
        cents = close
    (folder / f"{symbol}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _specs(folder: Path, tag: str) -> list[str]:
    """Market orders sized on equity with a day-based risk rule, and resting limits."""
    ma, limits = f"ma-{tag}", f"limits-{tag}"
    (folder / "ma.toml").write_text(
        f"""
id = "{ma}"
currency = "USD"
initial_cash = 100000
symbols = ["AAA", "BBB"]

[strategy]
class = "ma_crossover"
params = {{ fast = 3, slow = 8 }}

[sizer]
class = "percent_equity"
params = {{ percent = 20, lot_size = 1 }}

[[risk]]
class = "daily_loss_limit"
params = {{ max_loss_percent = 50 }}
""",
        encoding="utf-8",
    )
    (folder / "limits.toml").write_text(
        f"""
id = "{limits}"
currency = "USD"
initial_cash = 100000
symbols = ["AAA", "BBB"]

[strategy]
class = "livecore.testing.strategies:LimitSwing"
params = {{ quantity = 10, offset_percent = 1, patience = 2 }}

[sizer]
class = "fixed"
params = {{ quantity = 10 }}
""",
        encoding="utf-8",
    )
    return [ma, limits]


def _cli(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECORE_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "livecore.cli.app", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _check_parity(tmp_path: Path, backends: list[str], db_url: str, as_json: bool = False) -> None:
    data, specs, out = tmp_path / "data", tmp_path / "specs", tmp_path / "bt"
    for folder in (data, specs):
        folder.mkdir()
    _write_bars(data, "AAA", seed=11)
    _write_bars(data, "BBB", seed=12)
    ids = _specs(specs, uuid.uuid4().hex[:8])

    backtest = _cli(["backtest", str(specs), "--data", str(data), "--out", str(out), "--quiet"], tmp_path, 300)
    assert backtest.returncode == 0, backtest.stdout + backtest.stderr
    run = _cli(
        [*backends, "run", "--data", str(data), "--portfolios", str(specs), "--event-time", "--speed", "0",
         "--no-loop", "--json" if as_json else "--quiet", "--api-port", "0"],
        tmp_path, RUN_TIMEOUT_S,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    if as_json:  # the final report: books equal, and the very statistics of the backtest
        report = json.loads(run.stdout)
        assert report["replay_finished"] and [c["status"] for c in report["books"]] == ["OK", "OK"]
        backtest_stats = json.loads((out / "stats.json").read_text())["portfolios"]
        assert {s["portfolio_id"]: s for s in report["results"]} == backtest_stats
    else:
        assert "the replay has ended and every order has settled" in run.stdout
        assert "2/2 portfolios equal" in run.stdout

    expected_orders, expected_fills = backtest_rows(out)
    store = open_store(db_url)
    try:
        orders, fills = journal_rows(store, ids)
    finally:
        store.close()
    statuses = {row[8] for row in expected_orders}
    assert {"filled", "cancelled"} <= statuses, "the data must exercise fills and cancels"
    assert {row[4] for row in expected_orders} == {"market", "limit"}
    assert len(expected_fills) >= 10
    assert orders == expected_orders
    assert fills == expected_fills


def test_backtest_and_embedded_run_give_the_same_orders_and_fills(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'run.db'}"
    _check_parity(tmp_path, ["--db", db_url], db_url, as_json=True)


@pytest.mark.kafka
@pytest.mark.redis
@pytest.mark.postgres
def test_backtest_and_run_on_real_infrastructure_give_the_same_orders_and_fills(
    tmp_path: Path, kafka_url: str, redis_url: str
) -> None:
    prefix = f"par{uuid.uuid4().hex[:6]}."
    with postgres_database() as db_url:  # its own: `run` places every registered portfolio
        backends = ["--bus", kafka_url, "--coord", redis_url, "--db", db_url, "--secret", "s3cret",
                    "--topic-prefix", prefix]  # fmt: skip
        _check_parity(tmp_path, backends, db_url)
