"""Preparations for a coming load (``node/prepared.py``): built from the registry
with the code gate, partitions reserved, dropped by a load, an abort or their hold."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from livecore.adapters.factory import open_store
from livecore.node.codegate import CodeGate
from livecore.node.commands import CommandFailed
from livecore.node.interest import InterestMap
from livecore.node.prepared import MAX_HOLD_S, Preparations
from livecore.ports.store import Store
from tests.unit.scheduler.harness import FakeClock


class Spec:
    def __init__(self, text: str) -> None:
        self.text = text
        self.symbols = [s.strip() for s in text.split(",")]


class Factory:
    """Parses "AAA,BBB" into a spec; no code to check."""

    def __init__(self) -> None:
        self.parsed = 0

    def parse(self, spec_toml: str, source: str) -> Spec:
        self.parsed += 1
        return Spec(spec_toml)

    def code(self, spec: Any) -> list[Any]:
        return []

    def reload_code(self, spec: Any) -> list[str]:
        return []


class Rig:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FakeClock()
        self.interest = InterestMap()
        self.factory = Factory()
        self.changes = 0
        gate = CodeGate(factory=self.factory, audit=lambda *args: None)  # type: ignore[arg-type]
        self.prepared = Preparations(
            registry=store.registry, code_gate=gate, interest=self.interest, market_changed=self.changed,
            clock=self.clock,
        )  # fmt: skip

    def changed(self) -> None:
        self.changes += 1


@pytest.fixture
def rig() -> Iterator[Rig]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / f'{uuid.uuid4().hex}.db'}")
        try:
            store.registry.upsert("p1", "AAA,BBB", "running", 1)
            yield Rig(store)
        finally:
            store.close()


def test_prepare_builds_the_spec_and_reserves_its_partitions(rig: Rig) -> None:
    detail = rig.prepared.prepare("p1", 20.0)
    assert detail == "p1 prepared (2 symbols, held 20 s)"
    assert rig.prepared.held() == {"p1"} and rig.changes == 1
    assert rig.interest.symbols() == {"AAA", "BBB"} and rig.interest.lookup("AAA") == ()
    prepared = rig.prepared.take("p1")
    assert prepared is not None and prepared.spec.symbols == ["AAA", "BBB"]
    assert prepared.fits("AAA,BBB", None) and not prepared.fits("AAA", None) and not prepared.fits("AAA,BBB", "v2")
    assert rig.interest.symbols() == {"AAA", "BBB"}  # until the load has set its own
    rig.prepared.release("p1")
    assert rig.interest.symbols() == frozenset() and rig.changes == 2 and len(rig.prepared) == 0


def test_an_abort_drops_the_preparation_and_its_partitions(rig: Rig) -> None:
    rig.prepared.prepare("p1", 20.0)
    assert rig.prepared.prepare("p1", 0.0) == "p1: preparation dropped"
    assert rig.prepared.prepare("p1", 0.0) == "p1: nothing prepared"
    assert rig.prepared.held() == frozenset() and rig.interest.symbols() == frozenset()
    assert rig.prepared.take("p1") is None


def test_a_hold_that_runs_out_drops_it(rig: Rig) -> None:
    rig.prepared.prepare("p1", 2.0)
    rig.clock.advance(1.0)
    assert rig.prepared.expire() == [] and rig.prepared.held() == {"p1"}
    rig.clock.advance(1.5)
    assert rig.prepared.expire() == ["p1"]
    assert rig.prepared.held() == frozenset() and rig.interest.symbols() == frozenset()


def test_a_load_after_the_hold_gets_nothing(rig: Rig) -> None:
    rig.prepared.prepare("p1", 2.0)
    rig.clock.advance(3.0)
    assert rig.prepared.take("p1") is None
    rig.prepared.release("p1")
    assert rig.interest.symbols() == frozenset()


def test_release_keeps_a_preparation_made_again(rig: Rig) -> None:
    rig.prepared.prepare("p1", 20.0)
    rig.prepared.take("p1")
    rig.prepared.prepare("p1", 20.0)  # prepared again before the release
    rig.prepared.release("p1")
    assert rig.prepared.held() == {"p1"} and rig.interest.symbols() == {"AAA", "BBB"}


def test_refusals(rig: Rig) -> None:
    with pytest.raises(CommandFailed, match="not in the registry"):
        rig.prepared.prepare("ghost", 20.0)
    with pytest.raises(CommandFailed, match="at most"):
        rig.prepared.prepare("p1", MAX_HOLD_S + 1)
    assert rig.prepared.held() == frozenset() and rig.interest.symbols() == frozenset()
