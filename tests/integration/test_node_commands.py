"""Schedule commands end to end: every command with its ack, idempotence,
epochs and fences, refused and misaddressed commands, and shutdown."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.domain.portfolio import Portfolio
from livecore.domain.spec import parse_spec
from livecore.testing.strategies import spec_toml
from livecore.wire import names
from livecore.wire.messages import FeedbackStatus, OrderFeedback, Side
from livecore.wire.signing import CommandSigner


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


def filled(pid: str, coid: str, symbol: str, fill_id: str, epoch: int = 1) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED,
        client_order_id=coid,
        portfolio_id=pid,
        epoch=epoch,
        symbol=symbol,
        side=Side.BUY,
        fill_id=fill_id,
        fill_qty=Decimal(1),
        fill_price=Decimal(10),
        cumulative_qty=Decimal(1),
        ts_ns=1,
    )


def test_load_is_idempotent_and_epochs_only_grow(rig: NodeRig) -> None:
    node = rig.running_node()
    nid, pid = node.node_id, rig.pid()
    first = rig.load(node, pid, ["AAA"])
    assert "loaded at epoch 1" in first.detail
    again = rig.command(nid, "portfolio.load", pid, epoch=1)
    assert again.ok and "already loaded" in again.detail
    rig.tick("AAA", "10")
    assert rig.wait_orders(pid, 1)[0][1].client_order_id == f"{pid}-1-1"

    rig.fence(pid, 2, nid)  # as the scheduler does before it sends the load
    refenced = rig.command(nid, "portfolio.load", pid, epoch=2)
    assert refenced.ok and "at epoch 2" in refenced.detail
    assert node.portfolios[pid].epoch == 2
    stale = rig.command(nid, "portfolio.load", pid, epoch=1)
    assert not stale.ok and "stale" in stale.detail

    other = rig.pid()
    rig.register(other, ["AAA"])
    rig.fence(other, 5, "someone-else")
    fenced = rig.command(nid, "portfolio.load", other, epoch=5)
    assert not fenced.ok and "fence" in fenced.detail
    missing = rig.command(nid, "portfolio.load", rig.pid(), epoch=1)
    assert not missing.ok and "registry" in missing.detail


def test_unload_persists_and_a_later_load_restores_the_books(rig: NodeRig) -> None:
    node = rig.running_node()
    nid, pid = node.node_id, rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10")
    coid = rig.wait_orders(pid, 1)[0][1].client_order_id
    rig.feedback(filled(pid, coid, "AAA", "f-1"))
    wait_until(lambda: rig.portfolio(node, pid).books.positions.get("AAA") is not None, TIMEOUT, "filled")
    unload = rig.command(nid, "portfolio.unload", pid)
    assert unload.ok, unload.detail
    assert pid not in node.portfolios and node.interest_map.lookup("AAA") == ()
    assert rig.command(nid, "portfolio.unload", pid).ok  # idempotent
    stored = rig.store.snapshots.latest(pid)
    assert stored is not None
    restored = Portfolio.restore(stored.data, parse_spec(spec_toml(pid, ["AAA"])), 1, nid)
    assert restored.books.positions["AAA"].quantity == 1

    rig.fence(pid, 2, nid)
    assert rig.command(nid, "portfolio.load", pid, epoch=2).ok
    assert rig.portfolio(node, pid).books.positions["AAA"].quantity == 1
    rig.tick("AAA", "11")  # already holds its one share: no new order
    rig.tick("AAA", "12")
    wait_until(lambda: rig.portfolio(node, pid).books.last_prices.get("AAA") == Decimal(12), TIMEOUT, "marked")
    assert len(rig.orders(pid)) == 1


def test_migrate_drains_persists_and_releases(rig: NodeRig) -> None:
    node = rig.running_node()
    nid, pid = node.node_id, rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10")
    rig.wait_orders(pid, 1)
    bad = rig.command(nid, "portfolio.migrate", pid, to=nid)
    assert not bad.ok
    ack = rig.command(nid, "portfolio.migrate", pid, to="elsewhere")
    assert ack.ok and "elsewhere" in ack.detail
    assert pid not in node.portfolios
    stored = rig.store.snapshots.latest(pid)
    assert stored is not None and stored.epoch == 1
    events = [e.detail for e in rig.store.audit.recent(50, event="portfolio_migrated_out")]
    assert any(d["portfolio_id"] == pid and d["to"] == "elsewhere" for d in events)
    again = rig.command(nid, "portfolio.migrate", pid, to="elsewhere")
    assert again.ok and "not hosted" in again.detail


def test_a_moved_fence_drops_the_portfolio_at_the_next_heartbeat(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.fence(pid, 2, "new-owner")
    wait_until(lambda: pid not in node.portfolios, TIMEOUT, "portfolio dropped")
    rig.tick("AAA", "10")
    assert rig.command(node.node_id, "node.pause").ok  # the node is alive and serving commands
    assert rig.orders(pid) == []
    assert node.interest_map.lookup("AAA") == ()


def test_refused_misaddressed_and_unknown_commands(rig: NodeRig) -> None:
    node = rig.running_node()
    nid, pid = node.node_id, rig.pid()
    rig.load(node, pid, ["AAA"])
    forged = CommandSigner("not-the-secret").build("portfolio.unload", nid, pid)
    unsigned = msgspec.structs.replace(rig.signer.build("node.shutdown", nid), signature="")
    misaddressed = rig.signer.build("portfolio.unload", "another-node", pid)
    replayed = rig.signer.build("node.pause", nid)
    for cmd in (forged, unsigned, misaddressed, replayed):
        rig.send_command(cmd)
    assert rig.ack(replayed).ok
    rig.send_command(replayed)  # the same bytes again
    unknown = rig.signer.build("node.dance", nid)
    rig.send_command(unknown)
    ack = rig.ack(unknown)
    assert not ack.ok and "unknown" in ack.detail
    wait_until(lambda: node.dispatcher.refused == 2 and node.dispatcher.replayed == 1, TIMEOUT, "2 refused, 1 copy")
    reasons = {
        e.detail["reason"]
        for e in rig.store.audit.recent(100, event="command_refused")
        if e.detail.get("node_id") == nid
    }
    assert reasons == {"forged", "unsigned"}  # a copy of a command that ran is not "refused": it ran
    copies = [e.detail for e in rig.store.audit.recent(100, event="command_replayed") if e.detail["node_id"] == nid]
    assert [c["nonce"] for c in copies] == [replayed.nonce]
    assert node.dispatcher.misaddressed >= 1
    for cmd, reason in ((forged, "forged"), (unsigned, "unsigned")):  # the sender learns why
        refusal = rig.ack(cmd)
        assert not refusal.ok and refusal.detail.startswith(f"refused: {reason}: ")
    assert rig.ack(replayed).ok  # the copy did not overwrite the genuine ack
    assert pid in node.portfolios and node.is_running  # nothing refused took effect
    wait_until(lambda: len(rig.dead_letters(rig.topics.schedule_updates)) == 1, TIMEOUT, "unknown dead-lettered")


def test_an_operator_command_with_a_wrong_secret_fails_at_once_saying_why(rig: NodeRig) -> None:
    """`livecore node pause` as a process, with another secret than the node's: exit 2
    with the node's reason, long before its ack timeout (which would say "may be down")."""
    if rig.kind != "servers":
        pytest.skip("a separate process shares no memory:// backend")
    node = rig.running_node()
    urls = [rig.bus.url, rig.coord.url, rig.store.url]
    cli = [sys.executable, "-c", "from livecore.cli.app import main; main()"]
    common = ["--bus", urls[0], "--coord", urls[1], "--db", urls[2], "--topic-prefix", rig.prefix]
    result = subprocess.run(
        [*cli, *common, "--secret", "not-the-secret", "node", "pause", node.node_id, "--timeout", "300"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"node {node.node_id} refused node.pause: bad signature" in result.stderr
    assert "refused: forged" in result.stderr and "may be down" not in result.stderr
    assert not node.paused


def test_shutdown_by_command_stops_cleanly(rig: NodeRig) -> None:
    node = rig.running_node()
    nid, pid = node.node_id, rig.pid()
    rig.load(node, pid, ["AAA"])
    ack = rig.command(nid, "node.shutdown")
    assert ack.ok and ack.detail == "shutting down"
    assert node.wait_stopped(TIMEOUT)
    assert not node.is_running
    seed = {f"{label}_{nid}" for label in ("heartbeat", "schedule_updates", "market_data", "order_feedback")}
    wait_until(lambda: not (seed & {t.name for t in threading.enumerate()}), TIMEOUT, "threads gone")
    assert rig.coord.get(names.heartbeat_key(nid)) is None
    assert rig.store.snapshots.latest(pid) is not None
    rig.start(node)  # and it can start again
