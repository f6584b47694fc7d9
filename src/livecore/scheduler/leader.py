"""Leader election on the coordination store's lease.

Only the holder of ``names.SCHEDULER_LEADER_LEASE`` acts. The lease is renewed
every tick; the holder considers itself leader only until ``ttl - margin``
after the start of its last successful renewal, so it stops acting before any
standby could take over. A failed renewal (refused or erroring) drops
leadership at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from livecore.ports.coordination import Coordination, Lease
from livecore.wire import names

log = logging.getLogger(__name__)


class LeaderElector:
    """Not thread-safe: driven by the scheduler loop's one thread."""

    def __init__(
        self,
        coord: Coordination,
        holder: str,
        ttl: float,
        margin: float,
        clock: Callable[[], float] = time.monotonic,
        name: str = names.SCHEDULER_LEADER_LEASE,
    ) -> None:
        self._coord = coord
        self._holder = holder
        self._ttl = ttl
        self._margin = margin
        self._clock = clock
        self._name = name
        self._lease: Lease | None = None
        self._valid_until = 0.0

    @property
    def lease(self) -> Lease | None:
        """The lease while leader, else None."""
        return self._lease if self.is_leader() else None

    def is_leader(self) -> bool:
        return self._lease is not None and self._clock() < self._valid_until

    def tick(self) -> bool:
        """Renew (leader) or try to acquire (standby). True if leader afterwards."""
        started = self._clock()
        if self._lease is not None:
            if self._renew(self._lease):
                self._valid_until = started + self._ttl - self._margin
                return self.is_leader()
            log.warning("scheduler %s lost the leader lease (epoch %d)", self._holder, self._lease.epoch)
            self._lease = None
            self._valid_until = 0.0
        try:
            lease = self._coord.acquire_lease(self._name, self._holder, self._ttl)
        except Exception as exc:
            log.warning("cannot reach coordination to acquire the leader lease: %s", exc)
            return False
        if lease is not None:
            self._lease = lease
            self._valid_until = started + self._ttl - self._margin
            log.info("scheduler %s is leader (epoch %d)", self._holder, lease.epoch)
        return self.is_leader()

    def _renew(self, lease: Lease) -> bool:
        try:
            return self._coord.renew_lease(lease)
        except Exception as exc:
            log.warning("cannot renew the leader lease: %s", exc)
            return False

    def release(self) -> None:
        """Give the lease up so a standby takes over at its next tick."""
        lease, self._lease, self._valid_until = self._lease, None, 0.0
        if lease is not None:
            try:
                self._coord.release_lease(lease)
            except Exception as exc:
                log.warning("cannot release the leader lease (it will expire): %s", exc)
