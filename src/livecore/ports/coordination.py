"""The coordination port: short-lived shared state with TTLs.

Heartbeats, metrics, node claims, the scheduler's leader lease and the
portfolio ownership fences live here. ``MemoryCoordination`` (in-process,
monotonic-clock TTLs) and ``RedisCoordination`` (redis-py) pass one contract
suite. All values are strings; TTLs are seconds (floats, millisecond precision).

Beside keys, a backend keeps **sessions** (ZooKeeper's idea of a session): a
live connection that names its owner and ends the moment its owner closes it
or, on Redis, its owner's process dies (the kernel closes the socket). A
stalled process keeps its session open. Observers read a session's state from
its token, so a scheduler can tell "process gone" from "process slow" at once,
while a heartbeat's TTL stays the rule for a machine or network that vanishes
without a word.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum


class CoordinationError(Exception):
    """The coordination backend failed or could not be reached."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease. ``epoch`` grows by one on every change of holder and never
    goes back, even after the lease expires (it is a fencing token)."""

    name: str
    holder: str
    epoch: int
    ttl: float


@dataclass(frozen=True, slots=True)
class Fence:
    """Ownership fence of a resource: the highest epoch granted and its owner."""

    epoch: int
    owner: str


class SessionState(StrEnum):
    """What an observer can tell of a session from its token."""

    OPEN = "open"  # connected now
    CLOSED = "closed"  # ended on the backend's current run: closed by its owner, or its process died
    UNKNOWN = "unknown"  # issued before the backend restarted, or not a token: nothing can be said


class Session(ABC):
    """One owner's live session; thread-safe. Its ``token`` is unique to this
    connection on this run of the backend: when the backend restarts, every
    session drops and its old token reads UNKNOWN (never CLOSED), so a restart
    of the backend is never mistaken for the death of every owner."""

    @property
    @abstractmethod
    def token(self) -> str:
        """The current token (the one the last ``keep`` returned)."""

    @abstractmethod
    def keep(self) -> str:
        """Check that the session is open and return its token; if it dropped (the
        backend restarted, the connection was reset) open a new one, with a new
        token. Raises ``CoordinationError`` if the backend cannot be reached, and
        after ``close``."""

    @abstractmethod
    def close(self) -> None:
        """End the session (idempotent): its token reads CLOSED from then on."""


class Coordination(ABC):
    """Thread-safe; one instance may be shared by every thread of a process."""

    url: str

    # --- plain keys ----------------------------------------------------------

    @abstractmethod
    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Set ``key`` (SETEX when ``ttl`` is given)."""

    @abstractmethod
    def get(self, key: str) -> str | None:
        """The value, or None if absent or expired."""

    def get_many(self, keys: Collection[str]) -> dict[str, str]:
        """The value of each key that has one, in one round trip where the backend can
        (the leader reads the acks of every migration in flight at each poll)."""
        out = {}
        for key in keys:
            value = self.get(key)
            if value is not None:
                out[key] = value
        return out

    @abstractmethod
    def get_with_ttl(self, key: str) -> tuple[str, float | None] | None:
        """(value, remaining seconds or None if no TTL), or None if absent."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""

    @abstractmethod
    def claim(self, key: str, value: str, ttl: float) -> bool:
        """Atomically set ``key`` only if absent (SET NX PX). True if this call set it."""

    @abstractmethod
    def refresh_claim(self, key: str, value: str, ttl: float) -> bool:
        """Atomically extend ``key``'s TTL only if it still holds ``value``."""

    @abstractmethod
    def release_claim(self, key: str, value: str) -> bool:
        """Atomically delete ``key`` only if it still holds ``value``."""

    # --- hashes --------------------------------------------------------------

    @abstractmethod
    def hset(self, key: str, mapping: Mapping[str, str], ttl: float | None = None) -> None:
        """Set fields of hash ``key`` (and its TTL when given), atomically."""

    @abstractmethod
    def hgetall(self, key: str) -> dict[str, str]:
        """Every field of hash ``key`` ({} if absent or expired)."""

    # --- discovery -----------------------------------------------------------

    @abstractmethod
    def scan(self, prefix: str) -> list[str]:
        """Every live key starting with ``prefix`` (SCAN, never KEYS), sorted."""

    # --- leases (leader election) -------------------------------------------

    @abstractmethod
    def acquire_lease(self, name: str, holder: str, ttl: float) -> Lease | None:
        """Take lease ``name`` if it is free or expired (epoch + 1), or renew it if
        ``holder`` already holds it (same epoch). None if someone else holds it."""

    @abstractmethod
    def renew_lease(self, lease: Lease) -> bool:
        """Extend ``lease`` only if it is still held by its holder at its epoch."""

    @abstractmethod
    def release_lease(self, lease: Lease) -> bool:
        """Give ``lease`` up only if still held by its holder at its epoch."""

    @abstractmethod
    def current_lease(self, name: str) -> Lease | None:
        """The live holder of ``name``, or None."""

    # --- fences (ownership epochs) ------------------------------------------

    @abstractmethod
    def advance_fence(self, key: str, epoch: int, owner: str) -> bool:
        """Set the fence to (``epoch``, ``owner``) only if ``epoch`` is greater than
        the stored one. Atomic: of two writers, the stale one is refused."""

    @abstractmethod
    def get_fence(self, key: str) -> Fence | None:
        """The stored fence, or None if never set. Fences do not expire."""

    def get_fences(self, keys: Collection[str]) -> dict[str, Fence]:
        """The stored fence of each key that has one, in one round trip where the
        backend can (the scheduler reads every portfolio's fence each pass)."""
        out = {}
        for key in keys:
            fence = self.get_fence(key)
            if fence is not None:
                out[key] = fence
        return out

    # --- sessions ----------------------------------------------------------

    @abstractmethod
    def open_session(self, name: str) -> Session:
        """Open a session owned by ``name`` (on Redis: a dedicated connection with that
        client name, shown by ``CLIENT LIST``)."""

    @abstractmethod
    def session_states(self, tokens: Collection[str]) -> dict[str, SessionState]:
        """The state of each token, all read in one step of the backend. CLOSED is said
        only of a token issued by the backend's current run; a token from an earlier
        run, or a string that is not a token, is UNKNOWN."""

    # --- lifecycle -----------------------------------------------------------

    @abstractmethod
    def ping(self) -> None:
        """Raise ``CoordinationError`` if the backend cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
