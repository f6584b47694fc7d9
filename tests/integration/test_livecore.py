"""LiveCore starts the whole system in one process, trades, and stops with every
portfolio's books equal to the gateway's journal: on the embedded backends and
on Tansu + redis-server + PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.servers import wait_until

from livecore.adapters.factory import open_store
from livecore.config import DeploymentSettings
from livecore.livecore import LiveCore, LiveCoreConfig, ReplayPlan
from livecore.ops.books import check_snapshots
from livecore.ports.bus import ConsumerSettings

REPO = Path(__file__).resolve().parents[2]
FAST_CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750)


def _config(plan: ReplayPlan, kafka: bool) -> LiveCoreConfig:
    base = LiveCoreConfig(nodes=2, feed=plan, ready_timeout_s=60)
    if not kafka:
        return base
    import dataclasses

    return dataclasses.replace(
        base,
        node=dataclasses.replace(base.node, consumer=FAST_CONSUMER),
        gateway=dataclasses.replace(base.gateway, consumer=FAST_CONSUMER),
    )


def _fills(core: LiveCore) -> int:
    stats = core.gateway.stats if core.gateway else None
    return 0 if stats is None else stats.orders


def test_embedded_livecore_trades_and_books_equal_the_journal(tmp_path: Path) -> None:
    settings = DeploymentSettings(bus_url=f"memory://{uuid.uuid4().hex}", coord_url=f"memory://{uuid.uuid4().hex}",
                        db_url=f"sqlite:///{tmp_path / 'lc.db'}")  # fmt: skip
    core = LiveCore(settings, _config(ReplayPlan(speed=86_400 * 200.0), kafka=False))
    with core:
        report = core.status()
        assert {n.node_id for n in report.nodes} == {"node-1", "node-2"}
        assert all(p.state == "running" and p.epoch >= 1 for p in report.portfolios)
        wait_until(lambda: _fills(core) >= 20, 60, "20 orders through the gateway")
        core.start()  # a second start is a warning, not a second system
        assert len(core.nodes) == 2
    assert not core.is_running
    store = open_store(settings.db_url)
    try:
        checks = check_snapshots(store)
    finally:
        store.close()
    assert len(checks) == 5
    assert [c.portfolio_id for c in checks if not c.matches] == []
    assert sum(c.journal_fills for c in checks) > 0


def test_second_run_resumes_each_portfolio_at_the_next_epoch(tmp_path: Path) -> None:
    """State in the database survives a restart: each portfolio is placed once more
    (epoch + 1, no failover to nobody while the nodes come up) and its books still
    equal the journal."""
    db_url = f"sqlite:///{tmp_path / 'lc.db'}"
    epochs: list[dict[str, int]] = []
    for _ in range(2):
        settings = DeploymentSettings(bus_url=f"memory://{uuid.uuid4().hex}", coord_url=f"memory://{uuid.uuid4().hex}",
                            db_url=db_url)  # fmt: skip
        with LiveCore(settings, _config(ReplayPlan(speed=86_400 * 200.0), kafka=False)) as core:
            wait_until(lambda core=core: _fills(core) >= 5, 60, "5 orders through the gateway")  # type: ignore[misc]
            epochs.append({p.portfolio_id: p.epoch for p in core.status().portfolios})
    assert epochs[0] and all(epoch == 1 for epoch in epochs[0].values())
    assert epochs[1] == {pid: 2 for pid in epochs[0]}
    store = open_store(db_url)
    try:
        assert [e.detail for e in store.audit.recent(100, event="failover")] == []
        assert [c.portfolio_id for c in check_snapshots(store) if not c.matches] == []
    finally:
        store.close()


@pytest.mark.kafka
@pytest.mark.redis
@pytest.mark.postgres
def test_livecore_on_real_infrastructure(kafka_url: str, redis_url: str, postgres_url: str) -> None:
    settings = DeploymentSettings(bus_url=kafka_url, coord_url=redis_url, db_url=postgres_url, secret="s3cret",
                        topic_prefix=f"lc{uuid.uuid4().hex[:6]}.")  # fmt: skip
    store = open_store(postgres_url)
    for entry in store.registry.list():  # the database is shared by the session
        store.registry.remove(entry.portfolio_id)
    core = LiveCore(settings, _config(ReplayPlan(speed=86_400 * 100.0), kafka=True))
    try:
        core.start()
        wait_until(lambda: _fills(core) >= 5, 90, "5 orders through the gateway")
        live = {p.portfolio_id for p in core.status().portfolios if p.state == "running"}
        assert len(live) == 5
    finally:
        core.stop()
    try:
        checks = check_snapshots(store)
        assert [c for c in checks if not c.matches] == []
        assert sum(c.journal_fills for c in checks) > 0
    finally:
        store.close()


def test_livecore_run_command_from_a_fresh_directory(tmp_path: Path) -> None:
    """The README's first command, minus the install: runs, reports, exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECORE_")}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "livecore.cli.app", "run", "--duration", "4", "--quiet", "--api-port", "0",
         "--portfolios", str(REPO / "examples" / "portfolios")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5/5 portfolios equal" in result.stdout
    assert (tmp_path / ".livecore" / "livecore.db").exists()


@pytest.mark.parametrize(
    ("option", "url", "message"),
    [
        ("--coord", "redis://127.0.0.1:1/0", "cannot reach Redis at redis://127.0.0.1:1/0"),
        ("--bus", "kafka://127.0.0.1:1", "cannot reach Kafka at kafka://127.0.0.1:1"),
        ("--db", "postgresql://u:hunter2@127.0.0.1:1/x", "cannot open database postgresql://u:***@127.0.0.1:1/x"),
        ("--bus", "kafka://nohost", "bad bus URL 'kafka://nohost'"),
    ],
)
def test_bad_or_unreachable_backend_is_one_line_exit_2(tmp_path: Path, option: str, url: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "livecore.cli.app", option, url, "--secret", "s", "run", "--duration", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_finite_replay_ends_by_itself_with_resting_orders_cancelled(tmp_path: Path) -> None:
    """Live timestamps (no event time), paced: once the data has ended and settled,
    what still rests is cancelled (end_of_data), and ``replay_finished`` is set."""
    from livecore.gateway.paper import END_OF_DATA
    from livecore.testing.strategies import spec_toml
    from livecore.wire.messages import FeedbackStatus

    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "limits.toml").write_text(
        spec_toml("limits", ["AAPL", "IBM"], "livecore.testing.strategies:LimitSwing", "patience = 1000"),
        encoding="utf-8",
    )
    settings = DeploymentSettings(bus_url=f"memory://{uuid.uuid4().hex}", coord_url=f"memory://{uuid.uuid4().hex}",
                        db_url=f"sqlite:///{tmp_path / 'lc.db'}")  # fmt: skip
    plan = ReplayPlan(speed=86_400 * 500.0, loop=False)
    config = LiveCoreConfig(nodes=1, feed=plan, portfolio_files=(specs,), ready_timeout_s=60)
    with LiveCore(settings, config) as core:
        assert core.replay_finished.wait(300), "the replay did not finish by itself"
        assert core.feed is not None and core.feed.published == 4 * 757  # every bundled symbol
    store = open_store(settings.db_url)
    try:
        reasons = [e.feedback.reason for e in store.journal.feedback() if e.feedback.status is FeedbackStatus.CANCELLED]
        assert END_OF_DATA in reasons
        assert store.journal.open_orders() == []
        assert [c.portfolio_id for c in check_snapshots(store) if not c.matches] == []
    finally:
        store.close()
