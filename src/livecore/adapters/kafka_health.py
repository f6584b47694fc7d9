"""What one process knows about its Kafka cluster, shared by every client of a ``KafkaBus``.

Fed by the watchdog's probes (broker answers, topics as laid out), by
librdkafka's ``error_cb`` of every client (all brokers down, fatal errors) and
by producers (fatal errors, rebuilds). Read by ``KafkaBus.health()`` and by the
clients themselves: ``generation`` grows each time the broker comes back after
an outage, which is how producers know to rebuild and consumers to check their
positions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from livecore.ports.bus import BusHealth

# Problem slots: each source sets or clears its own; the bus is healthy when all are clear.
BROKER = "broker"
TOPICS = "topics"
PRODUCER = "producer"


class BrokerState:
    """Thread-safe; cheap to read (``generation`` is a plain int)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._since_ns = clock()
        self._outage = False
        self.generation = 0
        self.recreated: dict[str, int] = {}  # topic -> generation in which it was recreated

    def problem(self, slot: str, reason: str) -> None:
        with self._lock:
            if not self._problems:
                self._since_ns = self._clock()
            self._problems[slot] = reason

    def clear(self, slot: str) -> None:
        with self._lock:
            if self._problems.pop(slot, None) is not None and not self._problems:
                self._since_ns = self._clock()

    def broker_down(self, reason: str) -> None:
        """The broker cannot be reached (the watchdog's probe failed, or it lost
        topics); producers rebuild once it is back."""
        with self._lock:
            self._outage = True
        self.problem(BROKER, reason)

    def broker_suspect(self, reason: str) -> None:
        """A client says all brokers are down: unhealthy at once, but only the
        watchdog's next probe decides whether this is an outage (librdkafka hands
        over such events late, from the client's next poll, possibly after the
        broker came back: alone they must not trigger rebuilds)."""
        self.problem(BROKER, reason)

    def broker_up(self) -> bool:
        """The broker answers and the topics are restored; True if this ends an outage
        (``generation`` then grows)."""
        with self._lock:
            ended = self._outage
            if ended:
                self._outage = False
                self.generation += 1
        self.clear(BROKER)
        return ended

    @property
    def in_outage(self) -> bool:
        return self._outage

    def mark_recreated(self, topic: str) -> None:
        """The broker lost ``topic`` and it was created again (its data is gone)."""
        with self._lock:
            self.recreated[topic] = self.generation + 1

    def health(self) -> BusHealth:
        with self._lock:
            reason = "; ".join(f"{slot}: {text}" for slot, text in sorted(self._problems.items()))
            return BusHealth(ok=not self._problems, reason=reason, since_ns=self._since_ns)
