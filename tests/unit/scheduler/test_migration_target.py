"""``migration_target``: the source and target of an operator's request, or the
one-line reason it is refused."""

from __future__ import annotations

import pytest

from livecore.control.requests import MigrationRequest
from livecore.ports.store import RegistryEntry
from livecore.scheduler.migration_target import Refused, migration_target
from livecore.scheduler.placement import Candidate
from livecore.scheduler.specs import SymbolIndex
from tests.unit.scheduler.harness import spec, toml_symbols

SPEC = spec("p1", "AAPL")


def entry(*, desired: str = "running", node: str | None = "a", epoch: int = 3) -> RegistryEntry:
    return RegistryEntry("p1", SPEC, desired, node, epoch, 0)  # type: ignore[arg-type]


def request(to: str | None = None) -> MigrationRequest:
    return MigrationRequest(request_id="r1", portfolio_id="p1", to=to, requested_ns=0)


NODES = {
    "a": Candidate("a", 5, frozenset({"p1"})),
    "b": Candidate("b", 5),
    "full": Candidate("full", 1, frozenset({"x"})),
    "paused": Candidate("paused", 5, accepting=False),
}


def target(
    req: MigrationRequest,
    found: RegistryEntry | None,
    *,
    reported: dict[str, dict[str, int]] | None = None,
    nodes: dict[str, Candidate] = NODES,
    busy: bool = False,
) -> tuple[str, str] | Refused:
    return migration_target(
        req,
        found,
        reported={"p1": {"a": 3}} if reported is None else reported,
        candidates=nodes,
        symbols=SymbolIndex(toml_symbols),
        slack=1,
        busy=busy,
    )


def test_a_named_live_node_with_room_is_the_target() -> None:
    assert target(request("b"), entry()) == ("a", "b")


def test_without_a_target_the_placement_chooses_another_node() -> None:
    assert target(request(), entry(), nodes={"a": NODES["a"], "b": NODES["b"]}) == ("a", "b")


@pytest.mark.parametrize(
    ("req", "found", "kwargs", "reason"),
    [
        (request("b"), None, {}, "portfolio p1 is not registered"),
        (request("b"), entry(desired="stopped"), {}, "portfolio p1 is not running on any node"),
        (request("b"), entry(node=None), {}, "portfolio p1 is not running on any node"),
        (request("b"), entry(), {"busy": True}, "portfolio p1 is already being migrated"),
        (request("b"), entry(), {"reported": {"p1": {"a": 2}}}, "portfolio p1 is not (yet) loaded on a at epoch 3"),
        (request("a"), entry(), {}, "portfolio p1 already runs on a"),
        (request("gone"), entry(), {}, "target node gone is not alive"),
        (request("paused"), entry(), {}, "target node paused does not accept portfolios (paused or not reporting)"),
        (request("full"), entry(), {}, "target node full is full (1/1)"),
        (request(), entry(), {"nodes": {"a": NODES["a"]}}, "no other live node with free capacity"),
    ],
)
def test_refusals_say_why_in_one_line(
    req: MigrationRequest, found: RegistryEntry | None, kwargs: dict[str, object], reason: str
) -> None:
    assert target(req, found, **kwargs) == Refused(reason)  # type: ignore[arg-type]
