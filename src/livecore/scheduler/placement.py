"""Where a portfolio goes: a pure, deterministic function of the cluster's state.

Rule: among live, accepting nodes with room (load < capacity), take those whose
load is within ``affinity_slack`` of the least loaded; of those prefer the node
sharing the most symbols with the portfolio (market data it already consumes),
then the lighter one, then the smaller node id. The input order never matters.

Rebalancing moves portfolios from the heaviest node to the lightest while they
differ by more than one, a bounded number of moves at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node as placement sees it. ``portfolios`` count against ``capacity``;
    ``symbols`` is what the portfolios already there trade."""

    node_id: str
    capacity: int
    portfolios: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    alive: bool = True
    accepting: bool = True

    @property
    def load(self) -> int:
        return len(self.portfolios)

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity

    def with_portfolio(self, portfolio_id: str, symbols: frozenset[str]) -> Candidate:
        return replace(self, portfolios=self.portfolios | {portfolio_id}, symbols=self.symbols | symbols)

    def without_portfolio(self, portfolio_id: str, remaining_symbols: frozenset[str]) -> Candidate:
        return replace(self, portfolios=self.portfolios - {portfolio_id}, symbols=remaining_symbols)


@dataclass(frozen=True, slots=True)
class Move:
    """Migrate ``portfolio_id`` from ``source`` to ``target``."""

    portfolio_id: str
    source: str
    target: str


def _usable(node: Candidate, exclude: frozenset[str]) -> bool:
    return node.alive and node.accepting and node.has_room and node.node_id not in exclude


def _unique(nodes: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per node id (the first seen wins after sorting), in id order."""
    seen: dict[str, Candidate] = {}
    for node in sorted(nodes, key=lambda n: (n.node_id, n.load, n.capacity)):
        seen.setdefault(node.node_id, node)
    return list(seen.values())


def choose_node(
    symbols: frozenset[str],
    nodes: Iterable[Candidate],
    affinity_slack: int = 1,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    """The node for a portfolio trading ``symbols``, or None if no node can take it."""
    usable = [n for n in _unique(nodes) if _usable(n, exclude)]
    if not usable:
        return None
    floor = min(n.load for n in usable)
    near = [n for n in usable if n.load <= floor + affinity_slack]
    best = min(near, key=lambda n: (-len(symbols & n.symbols), n.load, n.node_id))
    return best.node_id


def place_all(
    demands: Mapping[str, frozenset[str]],
    nodes: Iterable[Candidate],
    affinity_slack: int = 1,
) -> dict[str, str | None]:
    """Place every portfolio of ``demands`` ({id: symbols}) in id order, each
    placement counting against the next. None means no node could take it."""
    by_id = {n.node_id: n for n in _unique(nodes)}
    result: dict[str, str | None] = {}
    for portfolio_id in sorted(demands):
        symbols = demands[portfolio_id]
        chosen = choose_node(symbols, by_id.values(), affinity_slack)
        result[portfolio_id] = chosen
        if chosen is not None:
            by_id[chosen] = by_id[chosen].with_portfolio(portfolio_id, symbols)
    return result


def _symbols_of(portfolios: Iterable[str], symbols_of: Mapping[str, frozenset[str]]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for pid in portfolios:
        out |= symbols_of.get(pid, frozenset())
    return out


def plan_rebalance(
    nodes: Sequence[Candidate],
    symbols_of: Mapping[str, frozenset[str]],
    max_moves: int,
    movable: frozenset[str] | None = None,
) -> list[Move]:
    """Up to ``max_moves`` moves, each from the heaviest node to the lightest
    accepting node with room, while their loads differ by more than one. The
    portfolio moved is the one sharing most symbols with the target (then the
    smallest id); only ``movable`` ones (all when None) are considered."""
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
        pid = min(choices, key=lambda p: (-len(symbols_of.get(p, frozenset()) & target.symbols), p))
        symbols = symbols_of.get(pid, frozenset())
        remaining = source.portfolios - {pid}
        by_id[source.node_id] = source.without_portfolio(pid, _symbols_of(remaining, symbols_of))
        by_id[target.node_id] = target.with_portfolio(pid, symbols)
        moved.add(pid)
        moves.append(Move(pid, source.node_id, target.node_id))
    return moves
