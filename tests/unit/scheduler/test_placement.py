"""Placement: capacity, affinity, determinism, live nodes only, rebalancing."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.scheduler.placement import Candidate, Move, choose_node, place_all, plan_rebalance

SYMBOLS = ["AAPL", "MSFT", "GOOG", "IBM", "TSLA", "AMZN"]
symbol_sets = st.frozensets(st.sampled_from(SYMBOLS), max_size=4)


@st.composite
def clusters(draw: st.DrawFn, max_nodes: int = 6) -> list[Candidate]:
    count = draw(st.integers(min_value=0, max_value=max_nodes))
    nodes = []
    next_pid = 0
    for i in range(count):
        capacity = draw(st.integers(min_value=1, max_value=6))
        load = draw(st.integers(min_value=0, max_value=capacity))
        pids = frozenset(f"held-{next_pid + k}" for k in range(load))
        next_pid += load
        nodes.append(
            Candidate(
                node_id=f"n{i}",
                capacity=capacity,
                portfolios=pids,
                symbols=draw(symbol_sets),
                alive=draw(st.booleans() | st.just(True)),
                accepting=draw(st.booleans() | st.just(True)),
            )
        )
    return nodes


demands = st.dictionaries(st.from_regex(r"p[0-9]{1,3}", fullmatch=True), symbol_sets, max_size=25)


@given(clusters(), demands, st.integers(min_value=0, max_value=3))
def test_capacity_is_never_exceeded_and_dead_or_paused_nodes_get_nothing(
    nodes: list[Candidate], wanted: dict[str, frozenset[str]], slack: int
) -> None:
    placed = place_all(wanted, nodes, slack)
    assert set(placed) == set(wanted)
    added = Counter(node for node in placed.values() if node is not None)
    by_id = {n.node_id: n for n in nodes}
    for node_id, count in added.items():
        node = by_id[node_id]
        assert node.alive and node.accepting
        assert node.load + count <= node.capacity
    room = sum(max(0, n.capacity - n.load) for n in nodes if n.alive and n.accepting)
    # Something waits only when the whole cluster is full.
    if any(v is None for v in placed.values()):
        assert sum(added.values()) == room


@given(clusters(), demands, st.integers(min_value=0, max_value=3), st.randoms(use_true_random=False))
def test_placement_is_deterministic_whatever_the_input_order(
    nodes: list[Candidate], wanted: dict[str, frozenset[str]], slack: int, rnd: random.Random
) -> None:
    shuffled = list(nodes)
    rnd.shuffle(shuffled)
    reordered = dict(reversed(list(wanted.items())))
    assert place_all(wanted, nodes, slack) == place_all(reordered, shuffled, slack)


@given(clusters(), symbol_sets, st.integers(min_value=0, max_value=3))
def test_choice_is_near_least_loaded_and_prefers_shared_symbols(
    nodes: list[Candidate], symbols: frozenset[str], slack: int
) -> None:
    chosen = choose_node(symbols, nodes, slack)
    usable = [n for n in nodes if n.alive and n.accepting and n.has_room]
    if not usable:
        assert chosen is None
        return
    assert chosen is not None
    node = next(n for n in usable if n.node_id == chosen)
    floor = min(n.load for n in usable)
    assert node.load <= floor + slack
    near = [n for n in usable if n.load <= floor + slack]
    assert len(symbols & node.symbols) == max(len(symbols & n.symbols) for n in near)


@given(clusters(), symbol_sets)
def test_excluded_node_is_never_chosen(nodes: list[Candidate], symbols: frozenset[str]) -> None:
    for node in nodes:
        assert choose_node(symbols, nodes, 1, exclude=frozenset({node.node_id})) != node.node_id


def test_affinity_wins_within_slack_and_load_wins_beyond_it() -> None:
    a = Candidate("a", 10, frozenset({"x1"}), frozenset({"AAPL"}))
    b = Candidate("b", 10, frozenset(), frozenset())
    assert choose_node(frozenset({"AAPL"}), [a, b], affinity_slack=1) == "a"
    assert choose_node(frozenset({"AAPL"}), [a, b], affinity_slack=0) == "b"
    assert choose_node(frozenset({"MSFT"}), [a, b], affinity_slack=1) == "b"


def test_no_live_node_means_the_portfolio_waits() -> None:
    dead = Candidate("a", 10, alive=False)
    full = Candidate("b", 1, frozenset({"x"}))
    assert place_all({"p1": frozenset()}, [dead, full]) == {"p1": None}


def test_ties_break_on_node_id() -> None:
    nodes = [Candidate("n2", 5), Candidate("n1", 5), Candidate("n3", 5)]
    assert place_all({"p1": frozenset(), "p2": frozenset(), "p3": frozenset()}, nodes) == {
        "p1": "n1",
        "p2": "n2",
        "p3": "n3",
    }


def test_rebalance_moves_from_heaviest_to_new_node_bounded() -> None:
    full = Candidate("a", 10, frozenset({"p1", "p2", "p3", "p4"}))
    empty = Candidate("b", 10)
    symbols = {"p1": frozenset({"AAPL"}), "p2": frozenset(), "p3": frozenset(), "p4": frozenset()}
    assert plan_rebalance([full, empty], symbols, max_moves=1) == [Move("p1", "a", "b")]
    assert plan_rebalance([full, empty], symbols, max_moves=5) == [Move("p1", "a", "b"), Move("p2", "a", "b")]
    assert plan_rebalance([full, empty], symbols, max_moves=0) == []


def test_rebalance_leaves_balanced_clusters_alone_and_respects_movable() -> None:
    a = Candidate("a", 10, frozenset({"p1", "p2"}))
    b = Candidate("b", 10, frozenset({"p3"}))
    assert plan_rebalance([a, b], {}, max_moves=3) == []
    heavy = Candidate("a", 10, frozenset({"p1", "p2", "p3"}))
    assert plan_rebalance([heavy, Candidate("b", 10)], {}, 3, movable=frozenset()) == []
    assert plan_rebalance([heavy, Candidate("b", 10)], {}, 3, movable=frozenset({"p3"})) == [Move("p3", "a", "b")]


@settings(max_examples=200)
@given(clusters(), st.integers(min_value=0, max_value=5))
def test_rebalance_never_overfills_and_never_widens_the_spread(nodes: list[Candidate], max_moves: int) -> None:
    moves = plan_rebalance(nodes, {}, max_moves)
    assert len(moves) <= max_moves
    assert len({m.portfolio_id for m in moves}) == len(moves)
    by_id = {n.node_id: n for n in nodes}
    loads = {n.node_id: n.load for n in nodes}
    for move in moves:
        assert move.source != move.target
        assert by_id[move.target].alive and by_id[move.target].accepting
        assert by_id[move.source].alive
        assert move.portfolio_id in by_id[move.source].portfolios
        assert loads[move.source] - loads[move.target] > 1
        loads[move.source] -= 1
        loads[move.target] += 1
        assert loads[move.target] <= by_id[move.target].capacity
