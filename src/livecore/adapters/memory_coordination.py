"""In-process coordination with TTLs, for ``livecore run`` and fast tests.

It mirrors the Redis layout key for key, so that ``scan`` and ``hgetall`` see
the same thing on both backends: a lease ``name`` is a hash ``{holder, epoch}``
with a TTL next to a counter ``name:epoch`` that never expires, and a fence is
a hash ``{epoch, owner}`` without TTL. Expiry uses a monotonic clock (injectable
for tests): an expired key is dropped when touched, and every key is swept at
most once per ``sweep_interval`` on writes. One lock guards everything.

Sessions live in the instance: a session is open from ``open_session`` until its
owner calls ``close`` (in one process there is no other way for it to end; the
process that dies takes the instance with it). Tokens are
``{instance}:{serial}``: a token of another instance reads UNKNOWN, one of this
instance that is no longer open reads CLOSED.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from livecore.ports.coordination import Coordination, CoordinationError, Fence, Lease, Session, SessionState
from livecore.wire import names

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class MemoryCoordinationSettings:
    """How often expired keys are swept (lazy expiry covers the rest)."""

    sweep_interval: float = 1.0


@dataclass(slots=True)
class _Entry:
    value: str | dict[str, str]
    expires_at: float | None = None


def _check_ttl(ttl: float) -> float:
    if not ttl > 0:
        raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
    # Same millisecond resolution as Redis PX, so both backends round alike.
    return max(1, round(ttl * 1000)) / 1000


@dataclass
class _Keyspace:
    """Keys with optional deadlines; callers hold the lock."""

    clock: Clock
    entries: dict[str, _Entry] = field(default_factory=dict)

    def live(self, key: str) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self.clock():
            del self.entries[key]
            return None
        return entry

    def string(self, key: str) -> _Entry | None:
        entry = self.live(key)
        if entry is not None and not isinstance(entry.value, str):
            raise CoordinationError(f"key {key!r} holds a hash, not a string")
        return entry

    def hash(self, key: str) -> dict[str, str] | None:
        entry = self.live(key)
        if entry is None:
            return None
        if not isinstance(entry.value, dict):
            raise CoordinationError(f"key {key!r} holds a string, not a hash")
        return entry.value

    def deadline(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock() + _check_ttl(ttl)

    def remaining(self, entry: _Entry) -> float | None:
        if entry.expires_at is None:
            return None
        return max(0.0, entry.expires_at - self.clock())

    def sweep(self) -> None:
        now = self.clock()
        expired = [k for k, e in self.entries.items() if e.expires_at is not None and e.expires_at <= now]
        for key in expired:
            del self.entries[key]


class _Sessions:
    """The sessions of one instance; callers hold the instance's lock."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex  # this instance's "server run"
        self.issued = 0
        self.open: set[int] = set()

    def issue(self) -> str:
        self.issued += 1
        self.open.add(self.issued)
        return f"{self.run}:{self.issued}"

    def state(self, token: str) -> SessionState:
        run, _, serial = token.rpartition(":")
        if run != self.run or not serial.isdigit() or not 0 < int(serial) <= self.issued:
            return SessionState.UNKNOWN
        return SessionState.OPEN if int(serial) in self.open else SessionState.CLOSED


class MemorySession(Session):
    """Open until ``close``; it never drops by itself."""

    def __init__(self, lock: threading.Lock, sessions: _Sessions) -> None:
        self._lock = lock
        self._sessions = sessions
        with lock:
            self._token = sessions.issue()
        self._closed = False

    @property
    def token(self) -> str:
        return self._token

    def keep(self) -> str:
        if self._closed:
            raise CoordinationError(f"session {self._token} is closed")
        return self._token

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._sessions.open.discard(int(self._token.rpartition(":")[2]))


class MemoryCoordination(Coordination):
    """Thread-safe in-process coordination; ``named(url)`` shares one per name."""

    _registry: ClassVar[dict[str, MemoryCoordination]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        url: str = "memory://",
        clock: Clock = time.monotonic,
        settings: MemoryCoordinationSettings | None = None,
    ) -> None:
        self.url = url
        self._settings = settings or MemoryCoordinationSettings()
        self._clock = clock
        self._keys = _Keyspace(clock)
        self._lock = threading.Lock()
        self._last_sweep = clock()
        self._sessions = _Sessions()

    @classmethod
    def named(cls, url: str) -> MemoryCoordination:
        """The one instance of this process for ``memory://NAME`` (created on first use)."""
        if not url.startswith("memory://"):
            raise ValueError(f"not a memory:// URL: {url!r}")
        with cls._registry_lock:
            instance = cls._registry.get(url)
            if instance is None:
                instance = cls(url)
                cls._registry[url] = instance
            return instance

    def _write_done(self) -> None:
        """Sweep expired keys if due (lock held), so unread keys do not pile up."""
        now = self._clock()
        if now - self._last_sweep >= self._settings.sweep_interval:
            self._keys.sweep()
            self._last_sweep = now

    # --- plain keys ----------------------------------------------------------

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._lock:
            self._keys.entries[key] = _Entry(value, self._keys.deadline(ttl))
            self._write_done()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._keys.string(key)
            return None if entry is None else str(entry.value)

    def get_many(self, keys: Collection[str]) -> dict[str, str]:
        """A key holding a hash counts as absent (as MGET answers it)."""
        with self._lock:
            found = {key: self._keys.live(key) for key in keys}
        return {key: entry.value for key, entry in found.items() if entry is not None and isinstance(entry.value, str)}

    def get_with_ttl(self, key: str) -> tuple[str, float | None] | None:
        with self._lock:
            entry = self._keys.string(key)
            if entry is None:
                return None
            return str(entry.value), self._keys.remaining(entry)

    def delete(self, key: str) -> bool:
        with self._lock:
            if self._keys.live(key) is None:
                return False
            del self._keys.entries[key]
            return True

    def claim(self, key: str, value: str, ttl: float) -> bool:
        with self._lock:
            deadline = self._keys.deadline(ttl)
            if self._keys.live(key) is not None:
                return False
            self._keys.entries[key] = _Entry(value, deadline)
            self._write_done()
            return True

    def refresh_claim(self, key: str, value: str, ttl: float) -> bool:
        with self._lock:
            deadline = self._keys.deadline(ttl)
            entry = self._keys.string(key)
            if entry is None or entry.value != value:
                return False
            entry.expires_at = deadline
            return True

    def release_claim(self, key: str, value: str) -> bool:
        with self._lock:
            entry = self._keys.string(key)
            if entry is None or entry.value != value:
                return False
            del self._keys.entries[key]
            return True

    # --- hashes --------------------------------------------------------------

    def hset(self, key: str, mapping: Mapping[str, str], ttl: float | None = None) -> None:
        if not mapping:
            raise ValueError(f"hset of {key!r} needs at least one field")
        with self._lock:
            deadline = self._keys.deadline(ttl)
            fields = self._keys.hash(key)
            if fields is None:
                self._keys.entries[key] = _Entry(dict(mapping), deadline)
            else:
                fields.update(mapping)
                if ttl is not None:
                    self._keys.entries[key].expires_at = deadline
            self._write_done()

    def hgetall(self, key: str) -> dict[str, str]:
        with self._lock:
            fields = self._keys.hash(key)
            return {} if fields is None else dict(fields)

    # --- discovery -----------------------------------------------------------

    def scan(self, prefix: str) -> list[str]:
        with self._lock:
            candidates = [k for k in self._keys.entries if k.startswith(prefix)]
            return sorted(k for k in candidates if self._keys.live(k) is not None)

    # --- leases --------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: float) -> Lease | None:
        with self._lock:
            deadline = self._keys.deadline(ttl)
            fields = self._keys.hash(name)
            if fields is not None:
                if fields.get("holder") != holder:
                    return None
                self._keys.entries[name].expires_at = deadline
                return Lease(name, holder, int(fields["epoch"]), ttl)
            counter = self._keys.string(names.lease_epoch_key(name))
            epoch = (int(str(counter.value)) if counter is not None else 0) + 1
            self._keys.entries[names.lease_epoch_key(name)] = _Entry(str(epoch))
            self._keys.entries[name] = _Entry({"holder": holder, "epoch": str(epoch)}, deadline)
            self._write_done()
            return Lease(name, holder, epoch, ttl)

    def _held(self, lease: Lease) -> bool:
        fields = self._keys.hash(lease.name)
        return fields is not None and fields == {"holder": lease.holder, "epoch": str(lease.epoch)}

    def renew_lease(self, lease: Lease) -> bool:
        with self._lock:
            deadline = self._keys.deadline(lease.ttl)
            if not self._held(lease):
                return False
            self._keys.entries[lease.name].expires_at = deadline
            return True

    def release_lease(self, lease: Lease) -> bool:
        with self._lock:
            if not self._held(lease):
                return False
            del self._keys.entries[lease.name]
            return True

    def current_lease(self, name: str) -> Lease | None:
        """The live holder; ``ttl`` is the time it has left."""
        with self._lock:
            entry = self._keys.live(name)
            fields = self._keys.hash(name)
            if entry is None or fields is None:
                return None
            remaining = self._keys.remaining(entry)
            return Lease(name, fields["holder"], int(fields["epoch"]), remaining or 0.0)

    # --- fences --------------------------------------------------------------

    def advance_fence(self, key: str, epoch: int, owner: str) -> bool:
        if epoch < 0:
            raise ValueError(f"fence epoch must be >= 0, got {epoch}")
        with self._lock:
            fields = self._keys.hash(key)
            if fields is not None and int(fields["epoch"]) >= epoch:
                return False
            self._keys.entries[key] = _Entry({"epoch": str(epoch), "owner": owner})
            return True

    def get_fence(self, key: str) -> Fence | None:
        with self._lock:
            return self._fence(key)

    def get_fences(self, keys: Collection[str]) -> dict[str, Fence]:
        with self._lock:
            found = {key: self._fence(key) for key in keys}
        return {key: fence for key, fence in found.items() if fence is not None}

    def _fence(self, key: str) -> Fence | None:
        fields = self._keys.hash(key)
        if fields is None:
            return None
        return Fence(int(fields["epoch"]), fields["owner"])

    # --- sessions ------------------------------------------------------------

    def open_session(self, name: str) -> Session:
        """``name`` is not kept: in one process nobody lists sessions by owner."""
        return MemorySession(self._lock, self._sessions)

    def session_states(self, tokens: Collection[str]) -> dict[str, SessionState]:
        with self._lock:
            return {token: self._sessions.state(token) for token in tokens}

    # --- lifecycle -----------------------------------------------------------

    def ping(self) -> None:
        """Always reachable: it lives in this process."""

    def close(self) -> None:
        """Nothing to release; a named instance stays usable by the process's
        other components (they share it)."""
