"""The scheduler service, ticked by hand next to fake nodes on the embedded backends."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from livecore.control.requests import read_result, read_status
from livecore.wire.partitioning import market_partition
from tests.unit.scheduler.harness import FakeClock, harness


def test_places_new_portfolios_with_a_fenced_epoch_and_they_load(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        node = h.node("a")
        node.beat()
        h.deploy("p1", "AAPL")
        sched = h.scheduler()
        h.settle(sched)
        entry = h.store.registry.get("p1")
        assert entry is not None and (entry.node_id, entry.epoch) == ("a", 1)
        assert h.fence("p1") == (1, "a")
        assert node.loaded == {"p1": 1}
        load = node.commands[0]
        assert load.command == "portfolio.load" and load.params == {"epoch": 1}
        # Steady state: nothing more is sent.
        before = len(node.commands)
        h.step(sched, rounds=3)
        assert len(node.commands) == before


def test_no_live_node_means_visibly_pending_until_one_comes(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.deploy("p1")
        sched = h.scheduler()
        h.step(sched)
        status = read_status(h.coord)
        assert status is not None and status.pending == {"p1": "no live node"}
        node = h.node("a")
        node.beat()
        h.settle(sched)
        assert node.loaded == {"p1": 1}
        status = read_status(h.coord)
        assert status is not None and status.pending == {}


def test_capacity_is_respected_and_the_rest_waits(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        for nid in ("a", "b"):
            h.node(nid, capacity=2).beat()
        for i in range(5):
            h.deploy(f"p{i}")
        sched = h.scheduler()
        h.settle(sched)
        assert len(h.nodes["a"].loaded) == 2 and len(h.nodes["b"].loaded) == 2
        status = read_status(h.coord)
        assert status is not None and status.pending == {"p4": "no live node with free capacity"}


def test_affinity_keeps_same_symbol_portfolios_together(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        for nid in ("a", "b"):
            h.node(nid).beat()
        h.deploy("p1", "AAPL")
        h.deploy("p2", "MSFT")
        h.deploy("p3", "AAPL")
        sched = h.scheduler(affinity_slack=1)
        h.settle(sched)
        placed = {e.portfolio_id: e.node_id for e in h.store.registry.list()}
        assert placed["p1"] == placed["p3"] != placed["p2"]


@pytest.mark.parametrize("per_tick", [500, 5])
def test_a_deploy_splits_the_market_data_partitions_between_the_nodes(tmp_path: Path, per_tick: int) -> None:
    """24 portfolios, each trading one symbol of one of the 8 partitions of market.data,
    deployed at once (ids in no partition order): each node gets 12 and reads 4, also
    when the passes may place only 5 at a time."""
    symbols: dict[int, list[str]] = {}
    for n in range(1, 400):
        symbol = f"SYM{n:04d}"
        symbols.setdefault(market_partition(symbol, 8), []).append(symbol)
    rnd = random.Random(3)
    with harness(tmp_path) as h:
        for nid in ("a", "b"):
            h.node(nid, capacity=100).beat()
        partition_of = {}
        for i in range(24):
            pid = f"p-{rnd.getrandbits(32):08x}"
            h.deploy(pid, symbols[i % 8][i // 8])
            partition_of[pid] = i % 8
        sched = h.scheduler(affinity_slack=1, max_commands_per_tick=per_tick)
        h.step(sched, rounds=4 + 24 // per_tick)
        placed = {e.portfolio_id: e.node_id for e in h.store.registry.list()}
    read = {nid: {partition_of[pid] for pid, node in placed.items() if node == nid} for nid in ("a", "b")}
    assert sorted(Counter(placed.values()).values()) == [12, 12]
    assert read["a"].isdisjoint(read["b"]) and len(read["a"]) == len(read["b"]) == 4


def test_failover_moves_portfolios_off_a_dead_node_with_a_new_epoch(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        h.deploy("p2")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        assert a.loaded == {"p1": 1, "p2": 1}
        b = h.node("b")
        b.beat()
        a.die()
        h.settle(sched)
        assert b.loaded == {"p1": 2, "p2": 2}
        assert h.fence("p1") == (2, "b")
        failovers = h.store.audit.recent(event="failover")
        assert {f.detail["portfolio_id"] for f in failovers} == {"p1", "p2"}
        assert all(f.detail["from"] == "a" and f.detail["to"] == "b" for f in failovers)
        # "a" comes back still holding its old copies: its fence check drops them,
        # and the scheduler never hands them back at the old epoch.
        a.alive, a.loaded = True, {"p1": 1, "p2": 1}
        a.beat()
        assert a.loaded == {}
        h.settle(sched)
        assert b.loaded == {"p1": 2, "p2": 2}
        assert not any(c.command == "portfolio.load" and c.params["epoch"] == 1 for c in a.commands[2:])


def test_failover_with_no_node_left_fences_the_lost_node_out_and_waits(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler()
        h.settle(sched)
        a.die()
        h.step(sched)
        assert h.fence("p1") == (2, "")  # ownerless: a cut-off "a" stops trading it
        entry = h.store.registry.get("p1")
        assert entry is not None and entry.node_id is None
        status = read_status(h.coord)
        assert status is not None and status.pending == {"p1": "no live node"}
        # "a" returns as a fresh process: the portfolio comes back with a new epoch.
        a.alive, a.loaded = True, {}
        a.beat()
        h.settle(sched)
        assert a.loaded == {"p1": 3}
        assert h.fence("p1") == (3, "a")


def test_stop_unloads_then_unplaces_and_a_restart_gets_a_new_epoch(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler()
        h.settle(sched)
        h.store.registry.set_desired("p1", "stopped", 2)
        h.settle(sched)
        assert a.loaded == {}
        entry = h.store.registry.get("p1")
        assert entry is not None and entry.node_id is None and entry.epoch == 1
        h.store.registry.set_desired("p1", "running", 3)
        h.settle(sched)
        assert a.loaded == {"p1": 2}


def test_a_portfolio_removed_from_the_registry_is_unloaded(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler()
        h.settle(sched)
        h.store.registry.remove("p1")
        h.settle(sched)
        assert a.loaded == {}
        assert a.commands[-1].command == "portfolio.unload"


def test_a_lost_load_is_sent_again_after_the_timeout(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        clock = FakeClock()
        a = h.node("a")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler(clock=clock, load_timeout=5.0)
        sched.tick()
        a.pump()  # the load arrives but the node "loses" it
        a.loaded.clear()
        a.beat()
        h.step(sched, rounds=2)
        assert a.loaded == {}
        clock.advance(6.0)
        h.settle(sched)
        assert a.loaded == {"p1": 1}
        assert [c.command for c in a.commands] == ["portfolio.load", "portfolio.load"]


def test_a_refused_load_is_shown_as_pending_with_the_reason(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.refuse_loads = True
        a.beat()
        h.deploy("p1")
        sched = h.scheduler()
        h.settle(sched)
        status = read_status(h.coord)
        assert status is not None and status.pending["p1"] == "load refused by a: refusing loads"
        assert h.store.audit.recent(event="load_refused")


def test_a_load_refused_again_for_the_same_reason_is_resent_at_pace_and_audited_once(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        clock = FakeClock()
        a = h.node("a")
        a.refuse_loads = True
        a.beat()
        h.deploy("p1")
        sched = h.scheduler(clock, load_timeout=10.0)
        for _ in range(3):  # three resends, one per load_timeout, never in between
            for _ in range(4):
                h.step(sched)
                clock.advance(0.05)
            clock.advance(10.0)
        loads = [c for c in a.commands if c.command == "portfolio.load"]
        assert len(loads) == 3
        assert len(h.store.audit.recent(event="load_refused")) == 1
        a.refuse_loads = False  # e.g. the registered code version was installed there
        for _ in range(4):
            h.step(sched)
        assert a.loaded == {"p1": 1}
        status = read_status(h.coord)
        assert status is not None and "p1" not in status.pending


def test_planned_migration_hands_over_after_the_source_ack(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        b.beat()
        rid = h.request_migration("p1", "b")
        sched.tick()  # takes the request: migrate goes to the source
        assert h.fence("p1") == (1, "a")
        assert b.pump() == 1 and b.prepared == {"p1": 20.0} and b.loaded == {}  # prepared, no load yet
        a.pump()  # source drains and acks
        assert a.loaded == {}
        sched.tick()  # sees the ack: fence, registry, load to the target
        assert h.fence("p1") == (2, "b")
        b.pump()
        sched.tick()
        result = read_result(h.coord, rid)
        assert result is not None and result.ok, result
        assert (result.source, result.target, result.epoch) == ("a", "b", 2)
        assert result.gap_ms is not None and result.gap_ms >= 0
        assert b.loaded == {"p1": 2} and b.prepared == {}
        assert a.commands[-1].command == "portfolio.migrate" and a.commands[-1].params == {"to": "b"}
        assert h.store.audit.recent(event="migration")


def test_migration_to_auto_never_picks_the_source(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        for nid in ("a", "b", "c"):
            h.node(nid).beat()
        h.deploy("p1")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        source = h.store.registry.get("p1").node_id  # type: ignore[union-attr]
        rid = h.request_migration("p1", None)
        h.settle(sched)
        result = read_result(h.coord, rid)
        assert result is not None and result.ok and result.source == source
        assert result.target not in (None, source)


def test_migration_without_a_source_ack_changes_nothing(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        clock = FakeClock()
        a, b = h.node("a"), h.node("b")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler(clock=clock, rebalance_moves=0, ack_timeout=3.0)
        h.settle(sched)
        b.beat()
        a.answer = False  # takes the command, never answers
        a.refuse_loads = True
        rid = h.request_migration("p1", "b")
        h.step(sched)
        clock.advance(4.0)
        h.step(sched)
        result = read_result(h.coord, rid)
        assert result is not None and not result.ok and "did not ack" in result.detail
        assert h.fence("p1") == (1, "a")
        assert b.loaded == {}


def test_invalid_migration_requests_are_answered_with_the_reason(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.node("a").beat()
        h.deploy("p1")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        cases = {"p1": ("a", "already runs on a"), "nope": ("a", "not registered")}
        for pid, (to, reason) in cases.items():
            rid = h.request_migration(pid, to)
            h.step(sched)
            result = read_result(h.coord, rid)
            assert result is not None and not result.ok and reason in result.detail
        rid = h.request_migration("p1", "ghost")
        h.step(sched)
        result = read_result(h.coord, rid)
        assert result is not None and "not alive" in result.detail


def test_a_joining_node_gets_a_bounded_share_by_migration(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        for i in range(4):
            h.deploy(f"p{i}")
        sched = h.scheduler(rebalance_moves=1)
        h.settle(sched)
        assert len(a.loaded) == 4
        b = h.node("b")
        b.beat()
        h.step(sched)
        status = read_status(h.coord)
        assert status is not None and len(status.migrations) == 1
        h.step(sched, rounds=10)
        assert len(a.loaded) == 2 and len(b.loaded) == 2
        moves = h.store.audit.recent(event="migration")
        assert len(moves) == 2 and all(m.detail["origin"] == "rebalance" for m in moves)


def test_paused_nodes_get_no_new_portfolios(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        a.state = "paused"
        a.beat()
        b.beat()
        h.deploy("p1")
        h.deploy("p2")
        sched = h.scheduler()
        h.settle(sched)
        assert a.loaded == {} and b.loaded == {"p1": 1, "p2": 1}


def test_a_source_dying_mid_migration_ends_it_and_failover_takes_over(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        a.beat()
        h.deploy("p1")
        sched = h.scheduler(rebalance_moves=0)
        h.settle(sched)
        b.beat()
        a.answer = False
        rid = h.request_migration("p1", "b")
        h.step(sched)
        a.die()
        h.settle(sched)
        result = read_result(h.coord, rid)
        assert result is not None and not result.ok and "died" in result.detail
        assert b.loaded == {"p1": 2} and h.fence("p1") == (2, "b")


def test_commands_per_tick_are_bounded_and_the_rest_follow(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        for i in range(5):
            h.deploy(f"p{i}")
        sched = h.scheduler(max_commands_per_tick=2)
        h.step(sched)
        assert len(a.loaded) == 2
        h.step(sched, rounds=3)
        assert len(a.loaded) == 5


def test_rebalance_waits_for_portfolios_still_loading(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        for i in range(4):
            h.deploy(f"p{i}")
        sched = h.scheduler(rebalance_moves=2)
        sched.tick()  # placed on "a", not loaded yet
        b = h.node("b")
        b.beat()
        sched.tick()  # "b" joined while nothing is movable
        a.pump()
        a.beat()
        h.step(sched, rounds=8)
        assert len(a.loaded) == 2 and len(b.loaded) == 2


def test_rebalance_never_moves_a_portfolio_from_a_node_whose_metrics_lag(tmp_path: Path) -> None:
    """Until its next beat, a source's metrics still list what it migrated away: that
    stale entry must not start a second migration (which would re-fence the portfolio)."""
    with harness(tmp_path) as h:
        a = h.node("a")
        a.beat()
        for i in range(6):
            h.deploy(f"p{i}")
        sched = h.scheduler(rebalance_moves=1)
        h.settle(sched)
        b = h.node("b")
        b.beat()
        for _ in range(6):
            sched.tick()
            a.pump()  # "a" answers commands but does not beat: its metrics lag
            b.pump()
            b.beat()
        h.step(sched, rounds=8)
        migrated = [c.portfolio_id for c in a.commands if c.command == "portfolio.migrate"]
        assert len(migrated) == len(set(migrated)) == 3
        assert len(a.loaded) == 3 and len(b.loaded) == 3


@pytest.mark.parametrize("seed", range(12))
def test_rebalance_after_a_join_balances_by_placement_while_metrics_lag(tmp_path: Path, seed: int) -> None:
    """Nodes beat at random moments (their metrics lag behind migrations): a join
    still ends balanced, and no portfolio is migrated twice."""
    rng = random.Random(seed)
    count, moves, beat = rng.randint(6, 14), rng.choice([1, 2]), rng.choice([0.1, 0.2, 0.3, 0.5])
    with harness(tmp_path) as h:
        a, b = h.node("a"), h.node("b")
        a.beat()
        b.beat()
        for i in range(count):
            h.deploy(f"p{i:02d}", f"S{i}", f"S{i + 1}")  # neighbours share a symbol
        sched = h.scheduler(rebalance_moves=moves, affinity_slack=0)
        h.settle(sched)
        c = h.node("c")
        c.beat()
        for _ in range(40):
            sched.tick()
            for node in (a, b, c):
                node.pump()
            for node in (a, b, c):
                if rng.random() < beat:
                    node.beat()
        h.step(sched, rounds=10)
        migrated = [cmd.portfolio_id for n in (a, b, c) for cmd in n.commands if cmd.command == "portfolio.migrate"]
        loads = [len(n.loaded) for n in (a, b, c)]
        assert max(loads) - min(loads) <= 1, (loads, migrated)
        assert len(migrated) == len(set(migrated)), migrated
