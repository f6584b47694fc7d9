"""Where an operator's migration request may go, or why it may not: pure checks
against the registry entry, what the nodes report and the placement candidates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from livecore.control.requests import MigrationRequest
from livecore.ports.store import RegistryEntry
from livecore.scheduler.placement import Candidate, choose_node
from livecore.scheduler.specs import SymbolIndex


@dataclass(frozen=True, slots=True)
class Refused:
    """A request that cannot be carried out; ``reason`` is one line for the operator."""

    reason: str


def migration_target(
    request: MigrationRequest,
    entry: RegistryEntry | None,
    *,
    reported: Mapping[str, Mapping[str, int]],
    candidates: Mapping[str, Candidate],
    symbols: SymbolIndex,
    slack: int,
    busy: bool,
) -> tuple[str, str] | Refused:
    """``(source, target)`` of ``request`` (the target it names, or the placement's
    choice among the other live nodes), or why there is none. ``busy``: the portfolio is
    already being migrated."""
    pid = request.portfolio_id
    if entry is None:
        return Refused(f"portfolio {pid} is not registered")
    if entry.desired != "running" or entry.node_id is None:
        return Refused(f"portfolio {pid} is not running on any node")
    if busy:
        return Refused(f"portfolio {pid} is already being migrated")
    source = entry.node_id
    if reported.get(pid, {}).get(source) != entry.epoch:
        return Refused(f"portfolio {pid} is not (yet) loaded on {source} at epoch {entry.epoch}")
    if request.to is None:
        target = choose_node(
            symbols.of(entry.spec_toml),
            candidates.values(),
            slack,
            exclude=frozenset({source}),
            partitions=symbols.partitions(entry.spec_toml),
        )
        return Refused("no other live node with free capacity") if target is None else (source, target)
    target = request.to
    node = candidates.get(target)
    if target == source:
        return Refused(f"portfolio {pid} already runs on {target}")
    if node is None:
        return Refused(f"target node {target} is not alive")
    if not node.accepting:
        return Refused(f"target node {target} does not accept portfolios (paused or not reporting)")
    if not node.has_room:
        return Refused(f"target node {target} is full ({node.load}/{node.capacity})")
    return source, target
