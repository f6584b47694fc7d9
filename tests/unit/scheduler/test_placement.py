"""Placement: capacity, balance, partition affinity, determinism, live nodes only,
rebalancing."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.scheduler.placement import Candidate, Move, choose_node, place_all, plan_rebalance
from livecore.wire.partitioning import market_partitions

SYMBOLS = ["AAPL", "MSFT", "GOOG", "IBM", "TSLA", "AMZN"]
PARTITIONS = 4  # AAPL 0, GOOG 0, AMZN 2, MSFT 3, IBM 3, TSLA 3
symbol_sets = st.frozensets(st.sampled_from(SYMBOLS), max_size=4)


def parts(symbols: frozenset[str]) -> frozenset[int]:
    return market_partitions(symbols, PARTITIONS)


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
        symbols = draw(symbol_sets)
        nodes.append(
            Candidate(
                node_id=f"n{i}",
                capacity=capacity,
                portfolios=pids,
                symbols=symbols,
                alive=draw(st.booleans() | st.just(True)),
                accepting=draw(st.booleans() | st.just(True)),
                partitions=parts(symbols),
            )
        )
    return nodes


demands = st.dictionaries(st.from_regex(r"p[0-9]{1,3}", fullmatch=True), symbol_sets, max_size=25)


def partitions_of(wanted: dict[str, frozenset[str]]) -> dict[str, frozenset[int]]:
    return {pid: parts(symbols) for pid, symbols in wanted.items()}


@given(clusters(), demands, st.integers(min_value=0, max_value=3))
def test_capacity_is_never_exceeded_and_dead_or_paused_nodes_get_nothing(
    nodes: list[Candidate], wanted: dict[str, frozenset[str]], slack: int
) -> None:
    placed = place_all(wanted, nodes, slack, partitions_of(wanted))
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
    of = partitions_of(wanted)
    assert place_all(wanted, nodes, slack, of) == place_all(reordered, shuffled, slack, of)
    assert [choose_node(s, nodes, slack, partitions=parts(s)) for s in wanted.values()] == [
        choose_node(s, shuffled, slack, partitions=parts(s)) for s in wanted.values()
    ]


@given(clusters(), symbol_sets, st.integers(min_value=0, max_value=3))
def test_choice_keeps_balance_then_prefers_partitions_read_then_shared_symbols(
    nodes: list[Candidate], symbols: frozenset[str], slack: int
) -> None:
    """The chosen node stays below max(floor + 1, mean after) + slack (and, when a node
    is below the mean after rounded down - slack, is such a node); of the nodes
    allowed, it needs the fewest new partitions, then shares the most symbols."""
    chosen = choose_node(symbols, nodes, slack, partitions=parts(symbols))
    usable = [n for n in nodes if n.alive and n.accepting and n.has_room]
    if not usable:
        assert chosen is None
        return
    assert chosen is not None
    node = next(n for n in usable if n.node_id == chosen)
    total = sum(n.load for n in usable) + 1
    bound = max(min(n.load for n in usable) + 1, -(-total // len(usable))) + slack
    low = max(0, total // len(usable) - slack)
    behind = [n for n in usable if n.load < min(low, n.capacity)]
    allowed = [n for n in (behind or usable) if n.load < bound]
    assert node in allowed
    new = len(parts(symbols) - node.partitions)
    assert new == min(len(parts(symbols) - n.partitions) for n in allowed)
    tied = [n for n in allowed if len(parts(symbols) - n.partitions) == new]
    assert len(symbols & node.symbols) == max(len(symbols & n.symbols) for n in tied)


@given(
    st.lists(symbol_sets, min_size=2, max_size=6),
    st.integers(min_value=0, max_value=20),
    symbol_sets,
    st.integers(min_value=0, max_value=3),
)
def test_affinity_is_preferred_when_loads_are_equal(
    held: list[frozenset[str]], load: int, symbols: frozenset[str], slack: int
) -> None:
    """Equal loads: a node reading every partition of the portfolio wins over one that
    would have to read more (whatever the slack)."""
    nodes = [
        Candidate(f"n{i}", 100, frozenset(f"n{i}-{k}" for k in range(load)), s, partitions=parts(s))
        for i, s in enumerate(held)
    ]
    wanted = parts(symbols)
    chosen = choose_node(symbols, nodes, slack, partitions=wanted)
    covering = [n.node_id for n in nodes if wanted <= n.partitions]
    if covering:
        assert chosen in covering


@settings(max_examples=200)
@given(
    st.integers(min_value=1, max_value=5),
    st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=80),
    st.integers(min_value=0, max_value=3),
    st.randoms(use_true_random=False),
)
def test_a_batch_stays_balanced_and_splits_single_partition_portfolios_between_nodes(
    count: int, partitions: list[int], slack: int, rnd: random.Random
) -> None:
    """Equal empty nodes with room for everything, portfolios each on one partition
    (8 partitions), ids in random order: every node ends within the batch's mean
    (rounded down / up) -/+ slack, and each partition is read by one node but where
    a node filled up mid-partition."""
    nodes = [Candidate(f"n{i}", 1000) for i in range(count)]
    wanted = {f"p{rnd.getrandbits(40):010x}-{i}": frozenset({f"S{i}"}) for i in range(len(partitions))}
    of = {pid: frozenset({partitions[i]}) for i, pid in enumerate(wanted)}
    placed = place_all(wanted, nodes, slack, of)
    loads = [sum(1 for node in placed.values() if node == n.node_id) for n in nodes]
    assert max(loads) <= -(-len(wanted) // count) + slack
    assert min(loads) >= len(wanted) // count - slack
    read = {(node, next(iter(of[pid]))) for pid, node in placed.items()}
    assert len(read) <= len(set(partitions)) + count - 1


@given(clusters(), symbol_sets)
def test_excluded_node_is_never_chosen(nodes: list[Candidate], symbols: frozenset[str]) -> None:
    for node in nodes:
        assert choose_node(symbols, nodes, 1, exclude=frozenset({node.node_id})) != node.node_id


def test_affinity_wins_within_slack_and_load_wins_beyond_it() -> None:
    a = Candidate("a", 10, frozenset({"x1"}), frozenset({"AAPL"}), partitions=frozenset({0}))
    b = Candidate("b", 10, frozenset(), frozenset())
    aapl, msft = frozenset({"AAPL"}), frozenset({"MSFT"})
    assert choose_node(aapl, [a, b], affinity_slack=1, partitions=parts(aapl)) == "a"
    assert choose_node(aapl, [a, b], affinity_slack=0, partitions=parts(aapl)) == "b"
    assert choose_node(msft, [a, b], affinity_slack=1, partitions=parts(msft)) == "b"


def test_reading_the_partitions_weighs_more_than_sharing_a_symbol() -> None:
    """The portfolio trades AAPL (partition 0) and MSFT (3). Node a trades GOOG (0) and
    IBM (3): it reads both partitions already. Node b trades AAPL: it shares a symbol
    but would have to read partition 3 too."""
    nodes = [
        Candidate("a", 10, frozenset({"x1"}), frozenset({"GOOG", "IBM"}), partitions=frozenset({0, 3})),
        Candidate("b", 10, frozenset({"x2"}), frozenset({"AAPL"}), partitions=frozenset({0})),
    ]
    wanted = frozenset({"AAPL", "MSFT"})
    assert parts(wanted) == frozenset({0, 3})
    assert choose_node(wanted, nodes, 1, partitions=parts(wanted)) == "a"
    assert choose_node(wanted, nodes, 1) == "b"  # no partitions given: the shared symbol decides


def test_eight_partitions_split_four_and_four_over_two_nodes() -> None:
    """200 portfolios, each on one of 8 partitions, deployed at once in id order."""
    rnd = random.Random(7)
    wanted = {f"pf-{rnd.getrandbits(32):08x}": frozenset({f"S{i}"}) for i in range(200)}
    of = {pid: frozenset({i % 8}) for i, pid in enumerate(wanted)}
    placed = place_all(wanted, [Candidate("n1", 1000), Candidate("n2", 1000)], 1, of)
    assert Counter(placed.values()) == {"n1": 100, "n2": 100}
    read = {node: {p for pid, n in placed.items() if n == node for p in of[pid]} for node in ("n1", "n2")}
    assert read["n1"].isdisjoint(read["n2"]) and len(read["n1"]) == len(read["n2"]) == 4


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


def test_rebalance_moves_the_portfolio_whose_partitions_the_target_reads() -> None:
    source = Candidate("a", 10, frozenset({"p1", "p2", "p3", "p4"}))
    target = Candidate("b", 10, frozenset(), partitions=frozenset({5}))
    symbols = {pid: frozenset({pid.upper()}) for pid in ("p1", "p2", "p3", "p4")}
    partitions = {"p1": frozenset({1}), "p2": frozenset({2}), "p3": frozenset({5}), "p4": frozenset({3})}
    assert plan_rebalance([source, target], symbols, 1, partitions_of=partitions) == [Move("p3", "a", "b")]


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
