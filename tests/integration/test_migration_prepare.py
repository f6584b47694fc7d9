"""``portfolio.prepare``: a planned migration's target builds the spec and reads
the partitions while the source drains, never trades before its load, and drops
a preparation that no load takes. With the scheduler: migrations while trading
lose no fill and never run a portfolio on two nodes at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore import ops
from livecore.adapters.factory import open_store
from livecore.config import DeploymentSettings
from livecore.livecore import LiveCore, LiveCoreConfig, SyntheticPlan
from livecore.ops.books import check_snapshots
from livecore.ports.store import Store
from livecore.testing.cluster import read_journal, write_specs
from livecore.wire import codec, names


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


def node_orders(rig: NodeRig, pid: str, node_id: str) -> list[int]:
    """The epochs of the orders ``node_id`` sent for ``pid``."""
    return [order.epoch for _, order in rig.orders(pid) if order.node_id == node_id]


def test_the_target_prepares_while_the_source_trades_then_loads_with_it(rig: NodeRig) -> None:
    source, target = rig.running_node(), rig.running_node()
    pid = rig.pid()
    rig.load(source, pid, ["PRP"])
    assert target.market_partitions == frozenset()
    prepared = rig.command(target.node_id, "portfolio.prepare", pid, hold_s=30)
    assert prepared.ok and "prepared" in prepared.detail, prepared.detail
    assert target.prepared == {pid} and pid not in target.portfolios
    wait_until(lambda: target.market_partitions == source.market_partitions, TIMEOUT, "the target reads PRP")
    rig.tick("PRP", "10")
    rig.wait_orders(pid, 1)
    assert node_orders(rig, pid, target.node_id) == []  # prepared is not running
    assert rig.command(source.node_id, "portfolio.migrate", pid, to=target.node_id).ok
    rig.fence(pid, 2, target.node_id)
    loaded = rig.command(target.node_id, "portfolio.load", pid, epoch=2)
    assert loaded.ok and "at epoch 2" in loaded.detail and "prepared" in loaded.detail, loaded.detail
    assert target.prepared == frozenset()
    rig.tick("PRP", "11")
    wait_until(lambda: node_orders(rig, pid, target.node_id) != [], TIMEOUT, "the target trades")
    assert set(node_orders(rig, pid, target.node_id)) == {2}
    assert set(node_orders(rig, pid, source.node_id)) == {1}
    assert target.market_partitions != frozenset()  # its own now


def test_a_prepared_target_loads_when_the_fence_names_it_before_the_load_arrives(rig: NodeRig) -> None:
    """The leader announced the load (epoch and nonce): the target loads as soon as
    the fence names it and acks under that nonce; the command, when it comes, is
    answered with the same ack and loads nothing again."""
    source, target = rig.running_node(), rig.running_node()
    pid = rig.pid()
    rig.load(source, pid, ["FWL"])
    load = rig.signer.build("portfolio.load", target.node_id, pid, {"epoch": 2})
    prepared = rig.command(target.node_id, "portfolio.prepare", pid, hold_s=30, epoch=2, load_nonce=load.nonce)
    assert prepared.ok and target.prepared == {pid}, prepared.detail
    assert rig.command(source.node_id, "portfolio.migrate", pid, to=target.node_id).ok
    rig.fence(pid, 2, target.node_id)
    early = rig.ack(load)  # written by the target: the command was never sent
    assert early.ok and early.node_id == target.node_id and early.command == "portfolio.load", early
    assert "at epoch 2" in early.detail and "prepared" in early.detail, early.detail
    assert target.portfolios.epochs() == {pid: 2} and target.prepared == frozenset()
    rig.coord.delete(names.command_ack_key(load.nonce))
    rig.send_command(load)
    assert rig.ack(load) == early  # answered again, not run again
    rig.tick("FWL", "11")
    wait_until(lambda: node_orders(rig, pid, target.node_id) != [], TIMEOUT, "the target trades")
    assert set(node_orders(rig, pid, target.node_id)) == {2}


def test_a_fence_that_names_another_node_leaves_the_preparation_to_its_hold(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.register(pid, ["FWO"])
    assert rig.command(node.node_id, "portfolio.prepare", pid, hold_s=1.0, epoch=2, load_nonce="n" * 24).ok
    rig.fence(pid, 2, "another-node")
    wait_until(lambda: node.prepared == frozenset(), TIMEOUT, "the preparation dropped at its hold's end")
    assert pid not in node.portfolios and rig.coord.get(names.command_ack_key("n" * 24)) is None


def test_a_prepare_with_no_load_after_it_is_dropped(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.register(pid, ["DRP"])
    assert rig.command(node.node_id, "portfolio.prepare", pid, hold_s=1.0).ok
    assert node.prepared == {pid}
    wait_until(lambda: node.market_partitions != frozenset(), TIMEOUT, "the partition of DRP read")
    rig.tick("DRP", "10")
    # the hold runs out: the next heartbeat drops it and its partitions
    wait_until(lambda: node.prepared == frozenset(), TIMEOUT, "the preparation dropped")
    wait_until(lambda: node.market_partitions == frozenset(), TIMEOUT, "its partitions released")
    # an abort (hold 0) drops it at once
    assert rig.command(node.node_id, "portfolio.prepare", pid, hold_s=30).ok
    aborted = rig.command(node.node_id, "portfolio.prepare", pid, hold_s=0)
    assert aborted.ok and "dropped" in aborted.detail and node.prepared == frozenset()
    wait_until(lambda: node.market_partitions == frozenset(), TIMEOUT, "its partitions released")
    assert pid not in node.portfolios and rig.orders(pid) == []
    assert rig.store.snapshots.latest(pid) is None  # never hosted, never saved


# --- with the scheduler ----------------------------------------------------------------

PORTFOLIOS = 4
MIGRATIONS = 8


class TwoOwners:
    """Samples every node's hosted table: a portfolio seen on two nodes at once."""

    def __init__(self, core: LiveCore) -> None:
        self._core = core
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TwoOwners:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            hosted = [set(node.portfolios.ids()) for node in self._core.nodes]
            self.seen.extend(sorted(set.intersection(*hosted)) if len(hosted) > 1 else [])


def load_acks(core: LiveCore) -> list[str]:
    """The details of every successful ``portfolio.load`` ack."""
    coord = core.ops.coord
    details = []
    for key in coord.scan(names.command_ack_key("")):
        raw = coord.get(key)
        ack = None if raw is None else codec.command_acks.decode(raw.encode())
        if ack is not None and ack.ok and ack.command == "portfolio.load":
            details.append(f"{ack.portfolio_id} {ack.node_id} {ack.detail}")
    return details


def wait_trading(store: Store, pid: str, epoch: int) -> None:
    wait_until(lambda: read_journal(store, pid).orders_at(epoch) != [], TIMEOUT, f"{pid} trading at epoch {epoch}")


def check_one_owner_per_epoch(store: Store, pid: str) -> None:
    """Every epoch's orders come from one node, and no order of an older epoch was
    received after one of a newer epoch."""
    orders = read_journal(store, pid).orders
    nodes: dict[int, set[str]] = {}
    for entry in orders:
        nodes.setdefault(entry.order.epoch, set()).add(entry.order.node_id)
    assert all(len(owners) == 1 for owners in nodes.values()), (pid, nodes)
    epochs = [entry.order.epoch for entry in orders]
    assert epochs == sorted(epochs), (pid, epochs)


def test_migrations_with_prepare_lose_no_fill_and_never_run_twice(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "specs", PORTFOLIOS, PORTFOLIOS, probe=2)
    settings = DeploymentSettings(bus_url=f"memory://{uuid.uuid4().hex}", coord_url=f"memory://{uuid.uuid4().hex}",
                                  db_url=f"sqlite:///{tmp_path / 'lc.db'}")  # fmt: skip
    config = LiveCoreConfig(nodes=2, feed=SyntheticPlan(symbols=PORTFOLIOS, rate=100), portfolio_files=tuple(specs))
    core = LiveCore(settings, config)
    moved: list[tuple[str, str, int]] = []
    with core, TwoOwners(core) as owners:
        store = core.ops.store
        pids = sorted(e.portfolio_id for e in store.registry.list())
        for index in range(MIGRATIONS):
            pid = pids[index % len(pids)]
            entry = store.registry.get(pid)
            assert entry is not None and entry.node_id is not None
            wait_trading(store, pid, entry.epoch)
            target = next(n.node_id for n in core.nodes if n.node_id != entry.node_id)
            result = ops.migrate(core.ops, pid, target)
            assert result.ok and result.epoch == entry.epoch + 1, result
            moved.append((pid, target, entry.epoch + 1))
        for pid, _, epoch in moved[-len(pids) :]:
            wait_trading(store, pid, epoch)
        acks = load_acks(core)
        assert all(node.prepared == frozenset() for node in core.nodes)
    assert owners.seen == []
    for pid, target, epoch in moved:  # every target loaded with what it prepared
        assert any(a.startswith(f"{pid} {target} ") and f"at epoch {epoch} " in a and "prepared" in a for a in acks)
    store = open_store(settings.db_url)
    try:
        for pid in pids:
            check_one_owner_per_epoch(store, pid)
        checks = check_snapshots(store)
        assert [c.portfolio_id for c in checks if not c.matches] == []
        assert sum(c.journal_fills for c in checks) > 0
    finally:
        store.close()
