"""The node's side of the cluster kill switch (``ops/halt.py``).

The halt state in coordination is the truth: the ``cluster.halt`` and
``cluster.resume`` commands make a node look at it at once, and the heartbeat
looks again every beat, so a node that missed a command, or starts while the
cluster is halted, converges on it. Applying it tells every hosted portfolio
(``set_cluster_halt``): halted, a portfolio's strategy may only reduce
positions; with flatten, the portfolio closes every position with market
orders, sent at once; resumed, it trades again. A portfolio loaded while
halted is told before it trades.

Each change of state gets a new version; a processor remembers the version it
was told (``halt_version``), and every sync tells those that are behind, so a
portfolio loaded while the state changed is caught at the next beat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from livecore.control.halt import ClusterHalt, read_halt
from livecore.node.hosted import HostedPortfolio
from livecore.node.processor import PortfolioProcessor
from livecore.ports.coordination import Coordination

log = logging.getLogger(__name__)


class ClusterHaltSwitch:
    """Thread-safe: the command thread and the heartbeat thread both sync it."""

    def __init__(
        self,
        *,
        coord: Coordination,
        processors: Callable[[], list[PortfolioProcessor]],
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._coord = coord
        self._processors = processors
        self._clock = clock
        self._lock = threading.Lock()
        self.state: ClusterHalt | None = None
        self.version = 0

    @property
    def halted(self) -> bool:
        return self.state is not None

    def sync(self) -> str:
        """Read the cluster's halt state, and tell every portfolio that has not
        been told the state in force; a detail line."""
        halt = read_halt(self._coord)
        with self._lock:
            changed = not _same(halt, self.state)
            if changed:
                self.state = halt
                self.version += 1
            for processor in self._processors():
                if processor.halt_version != self.version:
                    processor.act(self._tell)
                    processor.halt_version = self.version
        if changed:
            log.warning("cluster %s", _describe(halt, changed=True))
        return _describe(halt, changed=changed)

    def prepare(self, portfolio: HostedPortfolio) -> int:
        """Tell a portfolio being loaded the state in force; the version it was told."""
        with self._lock:
            if self.state is not None:
                self._tell(portfolio)
            return self.version

    def _tell(self, portfolio: HostedPortfolio) -> None:
        halt = self.state
        if halt is None:
            portfolio.set_cluster_halt(None, False, self._clock())
        else:
            portfolio.set_cluster_halt(halt.reason, halt.flatten, self._clock())


def _same(a: ClusterHalt | None, b: ClusterHalt | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.reason, a.flatten) == (b.reason, b.flatten)


def _describe(halt: ClusterHalt | None, *, changed: bool) -> str:
    if halt is None:
        return "resumed" if changed else "not halted"
    what = "halted, closing positions" if halt.flatten else "halted, positions may only be reduced"
    return f"{what}: {halt.reason}" if changed else f"already {what}: {halt.reason}"
