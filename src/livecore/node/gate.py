"""The market gate of a lockstep replay: how far in event time a node may go.

In a lockstep replay (``livecore run --event-time --speed 0 --no-loop``) every
event is taken in two steps, so that the live path orders things as ``livecore
backtest`` does: first the gateway matches the new event against the orders
sent before it and the fills reach their portfolios, and only then do the
strategies see the event. The node's market loop holds each record until the
replay opens the gate to it. Without a gate (every other run) nothing waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

# how often a held loop serves its producer and looks at its run flag
_SLICE_S = 0.01


@dataclass(frozen=True, slots=True)
class NodeProgress:
    """What a node has finished, as a lockstep replay counts it: records of
    ``market.data`` and ``orders.feedback`` fully handled, orders published, and
    whether every hosted portfolio's mailbox is empty with no batch running."""

    market_settled: int
    feedback_settled: int
    orders_sent: int
    idle: bool


class MarketGate:
    """How many market records the node may take (a count, since each node reads
    every record of ``market.data`` in publication order). Thread-safe:
    ``open_until`` is called by the replay, ``try_pass``/``wait_pass`` by the loop."""

    def __init__(self) -> None:
        self._allowed = 0
        self._passed = 0
        self._changed = threading.Condition()

    @property
    def held(self) -> bool:
        """The loop holds a record the gate has not let through yet."""
        return self._passed >= self._allowed

    def open_until(self, records: int) -> None:
        """Let the first ``records`` market records through."""
        with self._changed:
            if records > self._allowed:
                self._allowed = records
                self._changed.notify_all()

    def try_pass(self) -> bool:
        """Let one record through if the gate allows it now."""
        with self._changed:
            if self._passed < self._allowed:
                self._passed += 1
                return True
            return False

    def wait_pass(self, *, should_run: Callable[[], bool], service: Callable[[], None]) -> bool:
        """Hold until one more record may pass; True once it has, False if the node
        stops first. ``service`` keeps the node alive and its producer served."""
        while True:
            with self._changed:
                if self._passed >= self._allowed:
                    self._changed.wait(_SLICE_S)
                if self._passed < self._allowed:
                    self._passed += 1
                    return True
            if not should_run():
                return False
            service()
