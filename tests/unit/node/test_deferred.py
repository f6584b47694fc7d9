"""The register of put-off feedback snapshots asks each processor once, when due."""

from __future__ import annotations

from dataclasses import dataclass

from livecore.node.deferred import DeferredSnapshots


@dataclass
class Waiting:
    portfolio_id: str
    feedback_snapshot_due: bool = False
    asked: int = 0

    def request_snapshot(self) -> None:
        self.asked += 1


def test_only_due_processors_are_asked_and_each_once() -> None:
    register = DeferredSnapshots()
    early, late = Waiting("a"), Waiting("b")
    assert register.request_due() == 0
    register.defer(early)
    register.defer(late)
    register.defer(early)  # put off again before it was asked: still one entry
    assert len(register) == 2 and register.request_due() == 0
    early.feedback_snapshot_due = True
    assert register.request_due() == 1 and (early.asked, late.asked) == (1, 0)
    assert register.request_due() == 0 and len(register) == 1
    late.feedback_snapshot_due = True
    assert register.request_due() == 1 and late.asked == 1 and len(register) == 0
