"""One code version per portfolio (DESIGN invariant 7) with a real node on the
in-process backends: deploy records the code's hash, ``portfolio reload`` takes
up changed code and records its new hash, and a node whose imported code is not
the registered version refuses to load, saying why."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.test_node_commands import filled
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore import codeversion
from livecore.control.commands import CommandChannel
from livecore.ops import Ops
from livecore.ops import deploy as ops_deploy
from livecore.ops import reload as ops_reload
from livecore.ports.store import Store

STRATEGY = '''
from decimal import Decimal

from livecore.domain.strategy import Signal, Signals, Strategy

TARGET = Decimal({target})


class Hold(Strategy):
    """Hold TARGET shares of every symbol."""

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        if self.ctx.position(symbol) >= TARGET or self.ctx.has_open_order(symbol):
            return None
        return [Signal.target(symbol, TARGET, reason="hold")]
'''


def spec(pid: str, module: str) -> str:
    return f"""
id = "{pid}"
initial_cash = 1000000
symbols = ["AAA"]

[strategy]
class = "{module}:Hold"

[sizer]
class = "fixed"
params = {{ quantity = 1 }}
"""


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig("embedded", request, tmp_path)


@pytest.fixture
def module(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A user strategy module on sys.path, as an installed package would be."""
    name = f"lc_strats_{uuid.uuid4().hex[:8]}"
    path = tmp_path / "code" / f"{name}.py"
    path.parent.mkdir()
    path.write_text(STRATEGY.format(target=1))
    sys.path.insert(0, str(path.parent))
    try:
        yield name, path
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop(name, None)


def ops_of(rig: NodeRig) -> Ops:
    return Ops(rig.coord, rig.store, CommandChannel(rig.producer, rig.coord, rig.signer, rig.topics))


def registered_digest(rig: NodeRig, pid: str, module: str) -> str:
    entry = rig.store.registry.get(pid)
    assert entry is not None and entry.code_version is not None
    return codeversion.decode(entry.code_version)[module]


def register_digest(rig: NodeRig, pid: str, module: str, digest: str) -> None:
    """As a deploy from a host with another version of ``module`` would."""
    entry = rig.store.registry.get(pid)
    assert entry is not None and entry.code_version is not None
    version = codeversion.decode(entry.code_version) | {module: digest}
    assert rig.store.registry.set_code_version(pid, json.dumps(version), time.time_ns())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reload_takes_up_changed_code_and_records_its_hash(
    rig: NodeRig, module: tuple[str, Path], tmp_path: Path
) -> None:
    name, path = module
    ops = ops_of(rig)
    node = rig.running_node()
    pid = rig.pid()
    spec_file = tmp_path / f"{pid}.toml"
    spec_file.write_text(spec(pid, name))
    ops_deploy(ops, [spec_file])
    first = sha(path)
    assert registered_digest(rig, pid, name) == first
    rig.fence(pid, 1, node.node_id)
    rig.store.registry.set_placement(pid, node.node_id, 1, time.time_ns())
    assert rig.command(node.node_id, "portfolio.load", pid, epoch=1).ok

    rig.tick("AAA", "10")
    order = rig.wait_orders(pid, 1)[0][1]
    assert order.quantity == 1
    rig.feedback(filled(pid, order.client_order_id, "AAA", "f-1"))
    wait_until(lambda: rig.portfolio(node, pid).books.positions.get("AAA") is not None, TIMEOUT, "filled")

    path.write_text(STRATEGY.format(target=3))  # version two installed on this node's host
    answer = ops_reload(ops, pid)
    assert answer.ok, answer.detail
    assert "reloaded" in answer.detail
    assert registered_digest(rig, pid, name) == sha(path) != first
    rig.tick("AAA", "11")
    orders = rig.wait_orders(pid, 2)
    assert orders[1][1].quantity == 2  # the new code wants 3, it holds 1
    reloaded = [e.detail for e in rig.store.audit.recent(50, event="portfolio_reloaded")]
    assert any(d["portfolio_id"] == pid for d in reloaded)


def test_a_node_running_other_code_refuses_to_load_and_says_why(
    rig: NodeRig, module: tuple[str, Path], tmp_path: Path
) -> None:
    name, path = module
    ops = ops_of(rig)
    node = rig.running_node()
    pid = rig.pid()
    spec_file = tmp_path / f"{pid}.toml"
    spec_file.write_text(spec(pid, name))
    ops_deploy(ops, [spec_file])  # version one: imported here and registered
    one = sha(path)
    # Version two was deployed from another host; this node has version three installed.
    two = hashlib.sha256(STRATEGY.format(target=2).encode()).hexdigest()
    register_digest(rig, pid, name, two)
    path.write_text(STRATEGY.format(target=3))
    three = sha(path)
    rig.fence(pid, 1, node.node_id)
    refused = rig.command(node.node_id, "portfolio.load", pid, epoch=1)
    assert not refused.ok
    assert refused.detail == f"code_mismatch: strategy module {name} has hash {three[:12]}…, registry has {two[:12]}…"
    assert pid not in node.portfolios
    assert not rig.command(node.node_id, "portfolio.load", pid, epoch=1).ok  # re-sent: same answer
    audited = [e.detail for e in rig.store.audit.recent(50, event="code_mismatch")]
    assert [d["action"] for d in audited if d["portfolio_id"] == pid] == ["load"]  # audited once

    # The registered version gets installed: the next (re-sent) load takes it up, no restart.
    path.write_text(STRATEGY.format(target=2))
    loaded = rig.command(node.node_id, "portfolio.load", pid, epoch=1)
    assert loaded.ok, loaded.detail
    assert one != two

    # A reload to a version this node does not have is refused, and the portfolio
    # keeps trading on the code it runs.
    register_digest(rig, pid, name, "f" * 64)
    again = rig.command(node.node_id, "portfolio.reload", pid)
    assert not again.ok
    assert again.detail == f"code_mismatch: strategy module {name} has hash {two[:12]}…, registry has {'f' * 12}…"
    assert pid in node.portfolios
    rig.tick("AAA", "10")
    assert rig.wait_orders(pid, 1)[0][1].quantity == 2  # version two's target
    books = rig.portfolio(node, pid).books
    assert books.cash + books.reserved == Decimal(1_000_000)  # nothing filled: cash only earmarked


@pytest.mark.e2e
def test_a_node_process_with_other_code_installed_refuses_then_takes_up_the_registered_version(
    kafka_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Two hosts: the operator's (version two installed) deploys; a ``livecore node``
    process whose PYTHONPATH holds version one refuses the load with both hashes;
    once version two is installed on its host, the re-sent load succeeds."""
    from tests.integration.test_node_process import node_argv, spawn

    from livecore.adapters.factory import open_bus, open_coordination, open_store
    from livecore.wire import names
    from livecore.wire.signing import CommandSigner

    name = f"lc_strats_{uuid.uuid4().hex[:8]}"
    operator_dir, node_dir = tmp_path / "operator", tmp_path / "node"
    for directory, target in ((operator_dir, 2), (node_dir, 1)):
        directory.mkdir()
        (directory / f"{name}.py").write_text(STRATEGY.format(target=target))
    db = f"sqlite:///{tmp_path / 'livecore.db'}"
    kafka = f"{kafka_url}?session_timeout_ms=3000&heartbeat_interval_ms=750"
    prefix = f"t{uuid.uuid4().hex[:8]}."
    node_id = f"code-{uuid.uuid4().hex[:6]}"
    bus, coord, store = open_bus(kafka), open_coordination(redis_url), open_store(db)
    producer = bus.producer()
    ops = Ops(coord, store, CommandChannel(producer, coord, CommandSigner("process-secret"), names.Topics(prefix)))
    sys.path.insert(0, str(operator_dir))
    argv = node_argv(kafka, redis_url, db, node_id, prefix)
    process = spawn(argv, tmp_path / "node.log", pythonpath=str(node_dir))
    try:
        pid = f"p{uuid.uuid4().hex[:8]}"
        spec_file = tmp_path / f"{pid}.toml"
        spec_file.write_text(spec(pid, name))
        ops_deploy(ops, [spec_file])
        two, one = sha(operator_dir / f"{name}.py"), sha(node_dir / f"{name}.py")
        assert registered_digest_of(store, pid, name) == two
        wait_until(lambda: coord.get(names.heartbeat_key(node_id)) is not None, 60, "node heartbeat")
        assert coord.advance_fence(names.portfolio_epoch_key(pid), 1, node_id)
        store.registry.set_placement(pid, node_id, 1, time.time_ns())
        channel = ops.commands()
        refused = channel.request("portfolio.load", node_id, pid, {"epoch": 1}, 30.0)
        assert not refused.ok
        assert refused.detail == f"code_mismatch: strategy module {name} has hash {one[:12]}…, registry has {two[:12]}…"
        (node_dir / f"{name}.py").write_text(STRATEGY.format(target=2))  # installed there too
        loaded = channel.request("portfolio.load", node_id, pid, {"epoch": 1}, 30.0)
        assert loaded.ok, loaded.detail
    finally:
        process.terminate()
        process.wait(30)
        sys.path.remove(str(operator_dir))
        sys.modules.pop(name, None)
        producer.close()
        store.close()
        coord.close()
        bus.close()


def registered_digest_of(store: Store, pid: str, module: str) -> str:
    entry = store.registry.get(pid)
    assert entry is not None and entry.code_version is not None
    return codeversion.decode(entry.code_version)[module]
