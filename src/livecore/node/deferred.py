"""Feedback snapshots put off to bound the snapshot rate per portfolio.

A processor saves a snapshot after a batch of order feedback before the
feedback offsets are committed (``node/feedback.py``), but at most once per
``feedback_snapshot_interval_s``: an order's ``accepted`` and ``filled``
reports, milliseconds apart, then cost one snapshot, not two, and a portfolio
that fills often writes one snapshot per interval whatever its fill rate. A
batch that comes too soon after the last snapshot leaves its tickets unsaved
and puts the processor here; the feedback loop, which turns at least every
``poll_timeout_s``, asks each one whose interval has passed for its snapshot.
Until then its offsets stay uncommitted, which is safe: a crash only means the
records are delivered again (and de-duplicated), and a new owner restores the
last snapshot and reconciles with the gateway journal.
"""

from __future__ import annotations

import threading
from typing import Protocol


class Deferring(Protocol):
    """What the register needs of a processor."""

    portfolio_id: str

    @property
    def feedback_snapshot_due(self) -> bool:
        """Whether its interval since the last snapshot has passed."""

    def request_snapshot(self) -> None:
        """Queue a snapshot on the processor's own worker."""


class DeferredSnapshots:
    """Processors owing a snapshot; ``request_due`` asks those whose time has come."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, Deferring] = {}
        self.asked = 0  # snapshots asked for, in all

    def defer(self, processor: Deferring) -> None:
        with self._lock:
            self._waiting[processor.portfolio_id] = processor

    def request_due(self) -> int:
        """Ask every processor whose interval has passed for its snapshot (a closed one
        ignores the request); returns how many were asked."""
        if not self._waiting:  # the common case, read without the lock: a miss is seen next turn
            return 0
        with self._lock:
            due = [p for p in self._waiting.values() if p.feedback_snapshot_due]
            for processor in due:
                del self._waiting[processor.portfolio_id]
        for processor in due:
            processor.request_snapshot()
        self.asked += len(due)
        return len(due)

    def __len__(self) -> int:
        return len(self._waiting)
