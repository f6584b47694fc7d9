"""Where a portfolio goes: a pure, deterministic function of the cluster's state.

A node reads the partitions of ``market.data`` that hold its portfolios'
symbols (``wire.partitioning``), so the cheapest home for a portfolio is a node
that already reads its partitions: the node's read amplification does not grow
and no other node has to read them too (partition affinity). Placement weighs
that against balance as follows.

Candidates are the live, accepting nodes with room (load < capacity). A pass
places a batch of ``k`` portfolios (``place_all``; one for ``choose_node``).
Let ``mean`` be the candidates' load once the batch is placed, rounded up
(``ceil((sum of loads + k) / candidates)``) and ``floor`` the lightest
candidate's load now. Balance comes first, as two bounds:

- a node may take the portfolio only while its load stays below
  ``max(floor + 1, mean) + affinity_slack``: the least loaded node always may,
  and no node gets further than ``affinity_slack`` above the mean the pass
  leads to (when capacity allows);
- once the placements left in the pass are no more than those needed to lift
  every node to the mean rounded down minus ``affinity_slack`` (or its
  capacity), only the nodes below that may take one: no node is left behind
  either. A pass onto nodes with room for it all ends with every node within
  ``[mean rounded down - slack, mean rounded up + slack]``.

Among the nodes allowed, the key, smallest first, is

1. the partitions of the portfolio the node does not read yet (0: it reads
   them all: placing it there costs no read amplification);
2. minus the symbols it shares with the node's portfolios;
3. the node's load;
4. the node id (so every choice is a total order: the input order never matters).

A batch is placed in the order of its portfolios' partitions (then ids), so
the portfolios of one partition follow each other: the first opens the
partition on the lightest node and the next ones join it there until that node
reaches the bound. The scheduler applies a pass's decisions in that order too,
so a pass cut short (its command budget, a lease about to lapse) leaves whole
partitions placed and the next pass, planning the rest against the same mean,
carries on where it stopped. On a cluster of equal nodes, single-partition portfolios of
``P`` partitions end on nodes reading about ``P / nodes`` partitions each.

Rebalancing moves portfolios from the heaviest node to the lightest while they
differ by more than one, a bounded number of moves at a time; of the source's
portfolios it moves the one with the fewest partitions the target does not
read yet, then the one sharing most symbols with it, then the smallest id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node as placement sees it. ``portfolios`` count against ``capacity``;
    ``symbols`` is what the portfolios already there trade, ``partitions`` the
    ``market.data`` partitions that hold those symbols (what the node reads)."""

    node_id: str
    capacity: int
    portfolios: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    alive: bool = True
    accepting: bool = True
    partitions: frozenset[int] = frozenset()

    @property
    def load(self) -> int:
        return len(self.portfolios)

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity

    def with_portfolio(
        self, portfolio_id: str, symbols: frozenset[str], partitions: frozenset[int] = frozenset()
    ) -> Candidate:
        return replace(
            self,
            portfolios=self.portfolios | {portfolio_id},
            symbols=self.symbols | symbols,
            partitions=self.partitions | partitions,
        )

    def without_portfolio(
        self, portfolio_id: str, remaining_symbols: frozenset[str], remaining_partitions: frozenset[int] = frozenset()
    ) -> Candidate:
        return replace(
            self,
            portfolios=self.portfolios - {portfolio_id},
            symbols=remaining_symbols,
            partitions=remaining_partitions,
        )


@dataclass(frozen=True, slots=True)
class Move:
    """Migrate ``portfolio_id`` from ``source`` to ``target``."""

    portfolio_id: str
    source: str
    target: str


def _usable(node: Candidate, exclude: frozenset[str]) -> bool:
    return node.alive and node.accepting and node.has_room and node.node_id not in exclude


def _unique(nodes: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per node id: of duplicates, the one first by (load, capacity,
    fields), whatever the input order. One pass, no sort: every choice below ends
    on the node id, so the order of the result does not matter."""
    seen: dict[str, Candidate] = {}
    for node in nodes:
        held = seen.get(node.node_id)
        if held is None or _rank(node) < _rank(held):
            seen[node.node_id] = node
    return list(seen.values())


def _rank(node: Candidate) -> tuple[int, int, tuple[str, ...], tuple[str, ...], tuple[int, ...], bool, bool]:
    return (
        node.load,
        node.capacity,
        tuple(sorted(node.portfolios)),
        tuple(sorted(node.symbols)),
        tuple(sorted(node.partitions)),
        node.alive,
        node.accepting,
    )


def choose_node(
    symbols: frozenset[str],
    nodes: Iterable[Candidate],
    affinity_slack: int = 1,
    exclude: frozenset[str] = frozenset(),
    partitions: frozenset[int] = frozenset(),
) -> str | None:
    """The node for one portfolio trading ``symbols`` (held in ``partitions`` of
    ``market.data``), or None if no node can take it (see the module docstring)."""
    usable = [n for n in _unique(nodes) if _usable(n, exclude)]
    if not usable:
        return None
    return _Pass(usable, 1, affinity_slack).choose(symbols, partitions)


class _Pass:
    """The state of one pass: the candidates with their loads, the bounds and what
    is left to place. Loads are kept in a dict and the choice is one loop: this
    runs once per node per placement (a pass of 500 over 1,000 nodes is half a
    million evaluations, bench/bench_scheduler_scale.py)."""

    def __init__(self, usable: Iterable[Candidate], placing: int, slack: int) -> None:
        self.nodes = {n.node_id: n for n in usable}
        self.loads = {nid: n.load for nid, n in self.nodes.items()}
        # who reads each partition, who trades each symbol: counted per portfolio in C
        self.readers: dict[int, list[str]] = {}
        self.traders: dict[str, list[str]] = {}
        for nid, node in self.nodes.items():
            self._index(nid, node.symbols, node.partitions)
        self.remaining = placing
        count = max(1, len(self.nodes))
        total = sum(self.loads.values()) + placing
        self.ceiling = -(-total // count) + slack  # the mean after the pass, rounded up, + slack
        self.slack = slack
        low = max(0, total // count - slack)  # ... rounded down, - slack
        self.lows = {nid: min(n.capacity, low) for nid, n in self.nodes.items()}
        # placements still needed to lift every node to its ``low``
        self.deficit = sum(max(0, self.lows[nid] - load) for nid, load in self.loads.items())

    def _index(self, nid: str, symbols: Iterable[str], partitions: Iterable[int]) -> None:
        for partition in partitions:
            self.readers.setdefault(partition, []).append(nid)
        for symbol in symbols:
            self.traders.setdefault(symbol, []).append(nid)

    def choose(self, symbols: frozenset[str], partitions: frozenset[int]) -> str:
        """Called only while some node is left."""
        loads, lows = self.loads, self.lows
        bound = max(min(loads.values()) + 1 + self.slack, self.ceiling)
        restricted = self.remaining <= self.deficit  # what is left must go to the nodes below their low
        covered: Counter[str] = Counter()
        for partition in partitions:
            covered.update(self.readers.get(partition, ()))
        shared: Counter[str] = Counter()
        for symbol in symbols:
            shared.update(self.traders.get(symbol, ()))
        best: tuple[int, int, int, str] | None = None
        for nid, load in loads.items():
            if load >= bound or (restricted and load >= lows[nid]):
                continue
            key = (-covered[nid], -shared[nid], load, nid)  # fewest new partitions = most covered
            if best is None or key < best:
                best = key
        assert best is not None  # the lightest node is always allowed
        return best[3]

    def place(self, portfolio_id: str, node_id: str, symbols: frozenset[str], partitions: frozenset[int]) -> None:
        node = self.nodes[node_id]
        if self.loads[node_id] < self.lows[node_id]:
            self.deficit -= 1
        self.remaining -= 1
        placed = node.with_portfolio(portfolio_id, symbols, partitions)
        self._index(node_id, symbols - node.symbols, partitions - node.partitions)
        if placed.has_room:
            self.nodes[node_id] = placed
            self.loads[node_id] += 1
        else:  # its index entries stay: it is no longer in ``loads``, so never chosen
            del self.nodes[node_id], self.loads[node_id], self.lows[node_id]


def batch_order(portfolios: Iterable[str], partitions_of: Mapping[str, frozenset[int]]) -> list[str]:
    """The order a batch is placed in: by the portfolios' partitions, then id."""
    return sorted(portfolios, key=lambda p: (sorted(partitions_of.get(p, ())), p))


def plan_placements(
    demands: Mapping[str, frozenset[str]],
    nodes: Iterable[Candidate],
    affinity_slack: int = 1,
    partitions_of: Mapping[str, frozenset[int]] | None = None,
    pending: int | None = None,
) -> list[tuple[str, str | None]]:
    """Place every portfolio of ``demands`` ({id: symbols}; ``partitions_of``: {id:
    its market.data partitions}) as one batch, each placement counting against the
    next (see the module docstring); the decisions in the order they were made
    (``batch_order``), None where no node could take the portfolio. ``pending``:
    how many portfolios wait in all when ``demands`` is only the first part of
    them (the bounds count them all)."""
    parts = partitions_of or {}
    state = _Pass(
        (n for n in _unique(nodes) if _usable(n, frozenset())), max(len(demands), pending or 0), affinity_slack
    )
    decisions: list[tuple[str, str | None]] = []
    for pid in batch_order(demands, parts):
        if not state.nodes:
            decisions.append((pid, None))
            continue
        symbols, partitions = demands[pid], parts.get(pid, frozenset())
        chosen = state.choose(symbols, partitions)
        decisions.append((pid, chosen))
        state.place(pid, chosen, symbols, partitions)
    return decisions


def place_all(
    demands: Mapping[str, frozenset[str]],
    nodes: Iterable[Candidate],
    affinity_slack: int = 1,
    partitions_of: Mapping[str, frozenset[int]] | None = None,
) -> dict[str, str | None]:
    """``plan_placements`` as {portfolio id: node id or None}."""
    return dict(sorted(plan_placements(demands, nodes, affinity_slack, partitions_of)))


def _union_of(portfolios: Iterable[str], of: Mapping[str, frozenset[_T]]) -> frozenset[_T]:
    out: frozenset[_T] = frozenset()
    for pid in portfolios:
        out |= of.get(pid, frozenset())
    return out


def plan_rebalance(
    nodes: Sequence[Candidate],
    symbols_of: Mapping[str, frozenset[str]],
    max_moves: int,
    movable: frozenset[str] | None = None,
    partitions_of: Mapping[str, frozenset[int]] | None = None,
) -> list[Move]:
    """Up to ``max_moves`` moves, each from the heaviest node to the lightest
    accepting node with room, while their loads differ by more than one. The
    portfolio moved is the one with the fewest partitions the target does not
    read yet, then the one sharing most symbols with it, then the smallest id;
    only ``movable`` ones (all when None) are considered."""
    parts = partitions_of or {}
    by_id = {n.node_id: n for n in _unique(nodes) if n.alive}
    moved: set[str] = set()
    moves: list[Move] = []
    while len(moves) < max_moves:
        sources = [n for n in by_id.values() if n.portfolios - moved]
        targets = [n for n in by_id.values() if n.accepting and n.has_room]
        if not sources or not targets:
            break
        source = min(sources, key=lambda n: (-n.load, n.node_id))
        target = min(targets, key=lambda n: (n.load, n.node_id))
        if source.node_id == target.node_id or source.load - target.load <= 1:
            break
        choices = sorted(source.portfolios - moved)
        if movable is not None:
            choices = [p for p in choices if p in movable]
        if not choices:
            break
        pid = min(
            choices,
            key=lambda p: (
                len(parts.get(p, frozenset()) - target.partitions),
                -len(symbols_of.get(p, frozenset()) & target.symbols),
                p,
            ),
        )
        remaining = source.portfolios - {pid}
        by_id[source.node_id] = source.without_portfolio(
            pid, _union_of(remaining, symbols_of), _union_of(remaining, parts)
        )
        by_id[target.node_id] = target.with_portfolio(
            pid, symbols_of.get(pid, frozenset()), parts.get(pid, frozenset())
        )
        moved.add(pid)
        moves.append(Move(pid, source.node_id, target.node_id))
    return moves
