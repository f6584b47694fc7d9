"""Which partitions of ``market.data`` the node reads: those that hold a symbol
one of its portfolios trades (``wire.partitioning``), or all of them.

The InterestMap is the one source: ``update`` recomputes the wanted set from
it, so loads, unloads and universe changes on different threads can never
leave a partition out (each update reads the map after its own change, under
this object's lock). The market loop's thread owns the consumer and applies
the wanted set between two polls (``apply``); ``update`` wakes that poll up.

No gap for a newly loaded portfolio: hosting puts its symbols in the
InterestMap, then ``update(wait_s)`` returns True only once the loop has
assigned every partition that was missing, each positioned at its end as of
that moment (``AssignedConsumer.assign``); only then is the load acknowledged.
Partitions no longer wanted are dropped without waiting. A partition that
stays keeps its position; one added again later starts at its end again
(latest: market data is only worth its freshest value).

``all_partitions`` (a lockstep replay's gate counts every record of the topic
in publication order, or an operator's choice) reads every partition whatever
the portfolios trade.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from livecore.node.interest import InterestMap
from livecore.ports.bus import AssignedConsumer
from livecore.wire.partitioning import market_partition

log = logging.getLogger(__name__)


class MarketAssignment:
    """The wanted partitions (any thread) and the applied ones (the loop's thread)."""

    def __init__(
        self,
        *,
        interest: InterestMap,
        partition_count: Callable[[], int],
        all_partitions: bool = False,
    ) -> None:
        """``partition_count`` reads the topic's real count (called when a consumer is attached)."""
        self._interest = interest
        self._partition_count = partition_count
        self.all_partitions = all_partitions
        self._changed = threading.Condition()
        self._consumer: AssignedConsumer | None = None
        self._count = 0
        self._of: dict[str, int] = {}  # symbol -> partition, for the current count
        self._wanted: frozenset[int] = frozenset()
        self._applied: frozenset[int] | None = None  # None: no consumer positioned yet
        self.changes = 0  # assignments applied (for tests and operators)

    # --- any thread -------------------------------------------------------------

    @property
    def partitions(self) -> frozenset[int]:
        """The partitions the consumer reads now (empty before it is attached)."""
        return self._applied or frozenset()

    @property
    def partition_count(self) -> int:
        """The topic's partition count as of the last attach (0 before)."""
        return self._count

    @property
    def positioned(self) -> bool:
        """A consumer is attached and reads every wanted partition."""
        applied = self._applied
        return applied is not None and self._wanted <= applied

    def update(self, wait_s: float | None = None, should_run: Callable[[], bool] = lambda: True) -> bool:
        """Recompute the wanted partitions from the InterestMap. With ``wait_s``, wait
        (at most that long, and while ``should_run``) until the loop reads every one of
        them; True once it does. Without, return at once (True)."""
        with self._changed:
            if self._count:
                self._wanted = self._compute()
            consumer = self._consumer
            missing = self._applied is None or not self._wanted <= self._applied
        if not missing or wait_s is None:
            if consumer is not None and self._wanted != self._applied:
                consumer.wakeup()
            return True
        if consumer is not None:
            consumer.wakeup()
        deadline = time.monotonic() + wait_s
        with self._changed:
            while self._applied is None or not self._wanted <= self._applied:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not should_run():
                    return False
                self._changed.wait(min(remaining, 0.1))
        return True

    def _compute(self) -> frozenset[int]:
        """Called with the lock held and a known count."""
        if self.all_partitions:
            return frozenset(range(self._count))
        of, count = self._of, self._count
        wanted = set()
        for symbol in self._interest.symbols():
            partition = of.get(symbol)
            if partition is None:
                partition = of[symbol] = market_partition(symbol, count)
            wanted.add(partition)
        return frozenset(wanted)

    # --- the market loop's thread ---------------------------------------------------

    def apply(self, consumer: AssignedConsumer) -> None:
        """Before each poll: attach a new consumer (reading the topic's count) and
        assign what is wanted if it changed. A ``BusError`` propagates (the loop
        counts it and tries again at its next poll)."""
        if consumer is not self._consumer:
            self._attach(consumer)
        with self._changed:
            wanted, applied = self._wanted, self._applied
        if applied is not None and wanted == applied:
            return
        consumer.assign(wanted)
        with self._changed:
            self._applied = wanted
            self.changes += 1
            self._changed.notify_all()
        log.debug("market.data partitions now %s", sorted(wanted))

    def _attach(self, consumer: AssignedConsumer) -> None:
        count = self._partition_count()
        with self._changed:
            if count != self._count:
                self._of = {}
            self._consumer, self._count, self._applied = consumer, count, None
            self._wanted = self._compute()

    def detach(self) -> None:
        """The loop's consumer is gone: nothing is read until the next one attaches."""
        with self._changed:
            self._consumer = None
            self._applied = None
