"""Portfolio actions on the registry: deploy, list, stop, remove, reload.

The registry holds what should run; the scheduler leader makes the nodes
match it. ``stop`` and ``remove`` also unload the portfolio from its node
directly (and wait for the ack), so they work, and answer, even while no
scheduler runs; the leader's reconcile then agrees with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from livecore import codeversion
from livecore.control.commands import Command
from livecore.domain.errors import SpecError
from livecore.domain.spec import PortfolioSpec, parse_spec
from livecore.ops.context import CommandOutcome, Ops, OpsError, outcome
from livecore.ports.store import RegistryEntry
from livecore.wire import names


class DeployRefused(OpsError):
    """One or more specs are invalid; nothing was deployed. ``problems`` lists each
    as ``file: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("nothing deployed: " + "; ".join(problems))
        self.problems = problems


class Deployed(msgspec.Struct, frozen=True, kw_only=True):
    """``action``: created, updated (new spec text or code version), started (was stopped), unchanged."""

    portfolio_id: str
    source: str
    action: str
    reload: CommandOutcome | None = None


class DeployResult(msgspec.Struct, frozen=True, kw_only=True):
    portfolios: list[Deployed]


class PortfolioRow(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    name: str
    symbols: list[str]
    strategy: str
    desired: str
    node_id: str | None
    epoch: int
    updated_ns: int


class StopResult(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    was: str
    removed: bool = False
    unload: CommandOutcome | None = None
    detail: str = ""


def _entry(ops: Ops, portfolio_id: str) -> RegistryEntry:
    entry = ops.store.registry.get(portfolio_id)
    if entry is None:
        raise OpsError(f"no portfolio {portfolio_id!r} in the registry (see `livecore portfolio list`)")
    return entry


def read_specs(files: Sequence[Path]) -> list[PortfolioSpec]:
    """Parse every file; raise ``DeployRefused`` naming every bad file and field."""
    specs: list[PortfolioSpec] = []
    problems: list[str] = []
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        try:
            specs.append(parse_spec(text, source=str(path)))
        except SpecError as exc:
            problems.extend(exc.lines)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.id in seen:
            problems.append(f"{spec.source}: id: {spec.id!r} is also the id in {seen[spec.id]}")
        seen.setdefault(spec.id, spec.source)
    if problems:
        raise DeployRefused(problems)
    if not specs:
        raise OpsError("no spec files given")
    return specs


def deploy(ops: Ops, files: Sequence[Path], reload_updated: bool = False) -> DeployResult:
    """Validate every spec first (all or nothing), then register each as running
    with the version of its code installed here (``code_version``). With
    ``reload_updated``, a running portfolio whose spec or code changed is sent
    ``portfolio.reload`` (books kept) and the node's answer is reported."""
    specs = read_specs(files)
    versions = {spec.id: code_version(spec) for spec in specs}
    done = []
    for spec in specs:
        before = ops.store.registry.get(spec.id)
        text = spec.to_toml()
        ops.store.registry.upsert(spec.id, text, "running", ops.wall_ns(), code_version=versions[spec.id])
        if before is None:
            action = "created"
        elif before.spec_toml != text or before.code_version not in (None, versions[spec.id]):
            action = "updated"
        elif before.desired != "running":
            action = "started"
        else:
            action = "unchanged"
        answer = None
        running = before is not None and before.desired == "running" and before.node_id is not None
        if action == "updated" and reload_updated and running and before is not None and before.node_id:
            answer = _reload(ops, before.portfolio_id, before.node_id)
        done.append(Deployed(portfolio_id=spec.id, source=spec.source, action=action, reload=answer))
    return DeployResult(portfolios=done)


def list_portfolios(ops: Ops) -> list[PortfolioRow]:
    rows = []
    for entry in ops.store.registry.list():
        name, symbols, strategy = entry.portfolio_id, [], "?"
        try:
            spec = parse_spec(entry.spec_toml, source=f"registry:{entry.portfolio_id}")
            name, symbols, strategy = spec.name, list(spec.symbols), spec.strategy.name
        except SpecError:
            strategy = "(spec unreadable by this build)"
        rows.append(
            PortfolioRow(
                portfolio_id=entry.portfolio_id,
                name=name,
                symbols=symbols,
                strategy=strategy,
                desired=entry.desired,
                node_id=entry.node_id,
                epoch=entry.epoch,
                updated_ns=entry.updated_ns,
            )
        )
    return rows


def stop_portfolio(ops: Ops, portfolio_id: str) -> StopResult:
    """Mark stopped; unload it from its owner now if it is placed and the fence
    still grants it there (a stale copy drops itself)."""
    entry = _entry(ops, portfolio_id)
    ops.store.registry.set_desired(portfolio_id, "stopped", ops.wall_ns())
    node = entry.node_id
    if node is None:
        return StopResult(portfolio_id=portfolio_id, was=entry.desired, detail="not placed on any node")
    fence = ops.coord.get_fence(names.portfolio_epoch_key(portfolio_id))
    if fence is None or fence.owner != node:
        return StopResult(portfolio_id=portfolio_id, was=entry.desired, detail=f"{node} no longer owns it")
    if ops.coord.get(names.heartbeat_key(node)) is None:
        return StopResult(portfolio_id=portfolio_id, was=entry.desired, detail=f"its node {node} is not alive")
    ack = ops.commands().request(Command.UNLOAD, node, portfolio_id, {}, ops.config.ack_timeout)
    return StopResult(portfolio_id=portfolio_id, was=entry.desired, unload=outcome(ack, node))


def remove_portfolio(ops: Ops, portfolio_id: str) -> StopResult:
    """Stop it (unloading from its node if running), then delete it from the registry.
    Its ownership fence stays, so a later deploy of the same id gets a higher epoch."""
    stopped = stop_portfolio(ops, portfolio_id)
    if stopped.unload is not None and not stopped.unload.ok:
        raise OpsError(
            f"{portfolio_id} is stopped but not removed: node {stopped.unload.node_id} "
            f"could not unload it: {stopped.unload.detail}"
        )
    removed = ops.store.registry.remove(portfolio_id)
    return msgspec.structs.replace(stopped, removed=removed)


def reload(ops: Ops, portfolio_id: str) -> CommandOutcome:
    """Record the version of the portfolio's code installed here, then have the
    hosting node re-read the spec and re-import that code (books kept). A node
    whose code is another version refuses (``code_mismatch``) and keeps running
    what it ran. Where the spec's classes cannot be imported here, nothing is
    recorded and the node's own check decides."""
    entry = _entry(ops, portfolio_id)
    if entry.desired != "running" or entry.node_id is None:
        raise OpsError(f"{portfolio_id} is not running on any node (desired {entry.desired})")
    try:
        spec = parse_spec(entry.spec_toml, source=f"registry:{portfolio_id}")
    except SpecError:
        spec = None
    if spec is not None:
        ops.store.registry.set_code_version(portfolio_id, code_version(spec), ops.wall_ns())
    return _reload(ops, portfolio_id, entry.node_id)


def code_version(spec: PortfolioSpec) -> str:
    """The registry's ``code_version`` of ``spec`` as installed in this process, after
    re-importing its user modules (a long-running process would otherwise report the
    code it imported at start, not what is installed now)."""
    try:
        codeversion.reload_user_modules(spec)
        return codeversion.encode(codeversion.current(spec))
    except Exception as exc:
        raise OpsError(f"{spec.source}: cannot import or hash the code of {spec.id}: {exc}") from None


def _reload(ops: Ops, portfolio_id: str, node: str) -> CommandOutcome:
    ack = ops.commands().request(Command.RELOAD, node, portfolio_id, {}, ops.config.ack_timeout)
    return outcome(ack, node)
