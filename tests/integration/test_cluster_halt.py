"""The cluster kill switch on a whole running system (LiveCore: real nodes,
gateway and scheduler on the embedded backends): every node applies it and
says so, positions stop growing, --flatten closes them, a node restarted while
halted is halted at once, and resume-all lets trading start again."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

from tests.servers import wait_until

from livecore.adapters.factory import open_store
from livecore.config import DeploymentSettings
from livecore.feed.synthetic import symbol_names
from livecore.gateway.journal_books import recompute_all
from livecore.livecore import LiveCore, LiveCoreConfig, SyntheticPlan
from livecore.ops.halt import halt, halt_status, resume
from livecore.testing.strategies import spec_toml

TIMEOUT = 120.0
PIDS = ("acc-1", "acc-2", "acc-3")


def _positions(db_url: str) -> dict[str, Decimal]:
    """Every portfolio's summed absolute position, from the gateway journal."""
    store = open_store(db_url)
    try:
        books = recompute_all(
            [e.order for e in store.journal.orders()], [e.feedback for e in store.journal.feedback()], Decimal(0)
        )
    finally:
        store.close()
    return {pid: sum((abs(q) for q in b.positions.values()), Decimal(0)) for pid, b in books.items()}


def _fills(db_url: str) -> int:
    store = open_store(db_url)
    try:
        return sum(1 for e in store.journal.feedback() if e.feedback.fill_id)
    finally:
        store.close()


def test_halt_flatten_restart_and_resume_on_a_running_system(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    names = symbol_names(3)
    for i, pid in enumerate(PIDS):
        symbols = [names[i], names[(i + 1) % 3]]
        (specs / f"{pid}.toml").write_text(spec_toml(pid, symbols, "livecore.testing.strategies:Accumulate"))
    db_url = f"sqlite:///{tmp_path / 'lc.db'}"
    settings = DeploymentSettings(bus_url=f"memory://{uuid.uuid4().hex}", coord_url=f"memory://{uuid.uuid4().hex}",
                        db_url=db_url, secret="s")  # fmt: skip
    config = LiveCoreConfig(nodes=2, feed=SyntheticPlan(symbols=3, rate=200), portfolio_files=(specs,))
    with LiveCore(settings, config) as core:
        wait_until(lambda: all(_positions(db_url).get(pid, 0) >= 3 for pid in PIDS), TIMEOUT, "positions built")

        report = halt(core.ops, reason="drill", by="test")
        assert report.halted and report.acks == {"node-1": True, "node-2": True}, report.answers
        before = _positions(db_url)
        fills = _fills(db_url)
        wait_until(lambda: core.feed is not None and core.feed.published > 0, TIMEOUT, "the feed runs")
        published = core.feed.published if core.feed else 0
        wait_until(lambda: core.feed is not None and core.feed.published > published + 400, TIMEOUT, "more prices")
        after = _positions(db_url)
        # at most the orders in flight when the switch was pressed (one per symbol) filled since
        assert all(after[pid] <= before[pid] + 2 for pid in PIDS), (before, after)
        assert _fills(db_url) <= fills + 2 * len(PIDS)

        halt(core.ops, reason="drill", flatten=True, by="test")
        wait_until(lambda: all(v == 0 for v in _positions(db_url).values()), TIMEOUT, "every position closed")

        restarted = core.nodes[0]
        restarted.stop()
        restarted.start()
        wait_until(lambda: halt_status(core.ops).acks.get(restarted.node_id) is True, TIMEOUT, "restarted node halted")

        resume(core.ops, by="test")
        wait_until(lambda: all(_positions(db_url).get(pid, 0) >= 2 for pid in PIDS), TIMEOUT, "trading again")
        assert halt_status(core.ops).halted is False
