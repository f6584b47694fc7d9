"""Market data in, orders out: routing by InterestMap, deterministic order ids,
pause, stale ticks, universe changes and dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_node_support import TIMEOUT, NodeRig, make_rig
from tests.servers import wait_until

from livecore.node import ExecutionNode
from livecore.wire import codec, names
from livecore.wire.partitioning import market_partition


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


def seen(rig: NodeRig, node: ExecutionNode, pid: str) -> set[str]:
    return set(rig.portfolio(node, pid).books.last_prices)


def test_each_event_reaches_exactly_the_interested_portfolios(rig: NodeRig) -> None:
    """AAA, BBB, CCC and AAJ share partition 7 of 8 (the node reads it); ZZZ is on
    partition 0, which no hosted portfolio needs: the node never even reads it."""
    count = rig.config.topic_layout.market_data
    assert count == 8 and {market_partition(s, count) for s in ("AAA", "BBB", "CCC", "AAJ")} == {7}
    assert market_partition("ZZZ", count) == 0
    node = rig.running_node()
    p1, p2, p3 = rig.pid(), rig.pid(), rig.pid()
    rig.load(node, p1, ["AAA", "BBB"])
    rig.load(node, p2, ["BBB"])
    rig.load(node, p3, ["CCC"])
    assert node.market_partitions == frozenset({7})
    rig.ticks([("AAA", "10"), ("BBB", "20"), ("ZZZ", "30"), ("AAJ", "40")])
    wait_until(lambda: seen(rig, node, p1) == {"AAA", "BBB"}, TIMEOUT, "p1 marked")
    wait_until(lambda: seen(rig, node, p2) == {"BBB"}, TIMEOUT, "p2 marked")
    wait_until(lambda: node.market_loop.unrouted >= 1, TIMEOUT, "AAJ counted as unrouted")
    assert seen(rig, node, p3) == set()
    assert node.market_loop.events == 3  # AAA, BBB, AAJ: ZZZ's partition is not read
    assert node.market_loop.read_amplification == 1.5


def test_an_order_reaches_orders_with_its_deterministic_id(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA", "BBB"])
    rig.tick("AAA", "10")
    rig.tick("BBB", "20")
    orders = rig.wait_orders(pid, 2)
    assert [(key, o.client_order_id, o.symbol, o.epoch, o.node_id) for key, o in orders] == [
        (pid.encode(), f"{pid}-1-1", "AAA", 1, node.node_id),
        (pid.encode(), f"{pid}-1-2", "BBB", 1, node.node_id),
    ]
    # delivery confirmed -> SUBMITTED
    wait_until(
        lambda: {o.state for o in rig.portfolio(node, pid).view().open_orders} == {"submitted"},
        TIMEOUT,
        "orders marked submitted",
    )
    assert node.latency.count >= 2


def test_paused_node_emits_nothing_but_still_marks_prices(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    assert rig.command(node.node_id, "node.pause").ok
    rig.tick("AAA", "10")
    wait_until(lambda: seen(rig, node, pid) == {"AAA"}, TIMEOUT, "price marked while paused")
    assert rig.orders(pid) == []
    assert rig.command(node.node_id, "node.resume").ok
    rig.tick("AAA", "11")
    assert rig.wait_orders(pid, 1)[0][1].client_order_id == f"{pid}-1-1"


def test_stale_ticks_are_skipped_and_counted(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10", ts_ns=1)  # 1970
    wait_until(lambda: node.market_loop.stale == 1, TIMEOUT, "stale tick counted")
    assert seen(rig, node, pid) == set()
    rig.tick("AAA", "11")
    rig.wait_orders(pid, 1)


def test_reload_changes_the_universe_and_the_routing(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    assert node.interest_map.lookup("AAA") == (pid,)
    rig.register(pid, ["DDD"])
    assert rig.command(node.node_id, "portfolio.reload", pid).ok
    assert node.interest_map.lookup("DDD") == (pid,)
    assert node.interest_map.lookup("AAA") == ()  # nothing held in AAA: no interest left
    rig.tick("DDD", "5")
    assert rig.wait_orders(pid, 1)[0][1].symbol == "DDD"


def test_malformed_messages_are_dead_lettered_and_the_loops_live_on(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.producer.publish_sync(rig.topics.market_data, "AAA", b"not json")
    rig.feedback(b'{"status": "filled"}', key=pid)
    rig.send_command(b"\xff\xfe")
    market = rig.topics.market_data
    wait_until(lambda: len(rig.dead_letters(market)) == 1, TIMEOUT, "market dead letter")
    letter = rig.dead_letters(market)[0]
    assert letter.payload == b"not json" and letter.topic == market and letter.component == f"node:{node.node_id}"
    assert "market event" in letter.reason
    wait_until(lambda: len(rig.dead_letters(rig.topics.orders_feedback)) == 1, TIMEOUT, "feedback dead letter")
    wait_until(lambda: len(rig.dead_letters(rig.topics.schedule_updates)) == 1, TIMEOUT, "command dead letter")
    assert node.dead_letter_count == 3
    rig.tick("AAA", "10")
    rig.wait_orders(pid, 1)
    assert rig.command(node.node_id, "node.pause").ok
    assert codec.dead_letters.decode(codec.encode(letter)) == letter


def test_a_raising_strategy_faults_its_portfolio_alone(rig: NodeRig) -> None:
    node = rig.running_node()
    bad, good = rig.pid(), rig.pid()
    rig.load(node, bad, ["AAA"], strategy="livecore.testing.strategies:Explode")
    rig.load(node, good, ["AAA"])
    rig.tick("AAA", "10")
    assert rig.wait_orders(good, 1)[0][1].client_order_id == f"{good}-1-1"
    wait_until(lambda: rig.portfolio(node, bad).faulted, TIMEOUT, "faulty portfolio faulted")
    assert "strategy bug" in (rig.portfolio(node, bad).fault or "")
    assert rig.orders(bad) == []
    rig.tick("AAA", "11")  # the node and the other portfolio carry on
    wait_until(lambda: seen(rig, node, good) == {"AAA"} and node.total_event_count >= 2, TIMEOUT, "still routing")
    wait_until(
        lambda: rig.coord.hgetall(names.metrics_key(node.node_id)).get("faulted") == "1", TIMEOUT, "faulted counted"
    )


def test_a_loaded_portfolio_misses_no_tick_and_an_unloaded_ones_partition_is_dropped(rig: NodeRig) -> None:
    """The node reads DDD's partition (6) only while a portfolio trades DDD; the load
    is acknowledged once it does, so the first tick published after the ack counts."""
    count = rig.config.topic_layout.market_data
    assert (market_partition("AAA", count), market_partition("DDD", count)) == (7, 6)
    node = rig.running_node()
    p1, p2 = rig.pid(), rig.pid()
    rig.load(node, p1, ["AAA"])
    assert node.market_partitions == frozenset({7})
    rig.load(node, p2, ["DDD"])
    assert node.market_partitions == frozenset({6, 7})
    rig.tick("DDD", "5")  # right after the ack: no poll of the node in between is needed
    assert rig.wait_orders(p2, 1)[0][1].symbol == "DDD"
    assert rig.command(node.node_id, "portfolio.unload", p2).ok
    wait_until(lambda: node.market_partitions == frozenset({7}), TIMEOUT, "DDD's partition dropped")
    assert node.interest_map.lookup("DDD") == ()


def test_a_load_asks_for_its_partitions_before_it_restores(rig: NodeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """The market consumer starts reading a new portfolio's partitions while the
    portfolio is restored and reconciled, not after: its symbols are in the
    InterestMap when the snapshot is read."""
    node = rig.running_node()
    pid = rig.pid()
    asked: list[tuple[str, ...]] = []
    latest = rig.store.snapshots.latest

    def spy(portfolio_id: str) -> object:
        asked.append(node.interest_map.lookup("DDD"))
        return latest(portfolio_id)

    monkeypatch.setattr(rig.store.snapshots, "latest", spy)
    rig.load(node, pid, ["DDD"])
    assert asked == [(pid,)]
    assert node.market_partitions == frozenset({market_partition("DDD", rig.config.topic_layout.market_data)})
