"""Coordination on Redis (redis-py): one pool, short timeouts, atomic scripts.

Every check-then-act is one server-side step: ``claim`` is SET NX PX; the
owner-only refresh/release, the lease operations and the fence are Lua
scripts registered once. Layout (same as ``MemoryCoordination``):

- lease ``name``: hash ``{holder, epoch}`` with PX; its counter ``name:epoch``
  never expires, so an epoch never repeats after expiry or release;
- fence ``key``: hash ``{epoch, owner}`` without TTL.

A session (``RedisSession``) is one dedicated connection named with ``CLIENT
SETNAME``; its token is ``{run_id}:{client id}``. Client ids start again from
small numbers when redis-server restarts, so the server's ``run_id`` (new at
every start) is what keeps an old token from naming a new connection.
``session_states`` reads ``INFO server`` and ``CLIENT LIST ID ...`` in one
``MULTI``: both answers come from the same run of the server (Redis >= 6.2).

Redis errors surface as ``CoordinationError`` naming the operation and server.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.typing import EncodableT

from livecore.ports.coordination import Coordination, CoordinationError, Fence, Lease, Session, SessionState
from livecore.wire import names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Connection tunables: short timeouts so a dead server is noticed within a heartbeat."""

    socket_timeout: float = 2.0
    connect_timeout: float = 1.0
    max_connections: int = 64
    health_check_interval: float = 10.0
    connection_retries: int = 1  # on a dropped connection only, never on a timeout
    scan_count: int = 500


_REFRESH_CLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE_CLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: lease, counter. ARGV: holder, ttl_ms. Returns the epoch, or 0 if held by another.
_ACQUIRE_LEASE = """
local held = redis.call('HMGET', KEYS[1], 'holder', 'epoch')
if held[1] then
  if held[1] == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(held[2])
  end
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return epoch
"""

# KEYS: lease. ARGV: holder, epoch, ttl_ms (renew) / nothing more (release).
_RENEW_LEASE = """
local held = redis.call('HMGET', KEYS[1], 'holder', 'epoch')
if held[1] == ARGV[1] and held[2] == ARGV[2] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 0
"""

_RELEASE_LEASE = """
local held = redis.call('HMGET', KEYS[1], 'holder', 'epoch')
if held[1] == ARGV[1] and held[2] == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: fence. ARGV: epoch, owner. 1 if advanced, 0 if the stored epoch is >= ARGV[1].
_ADVANCE_FENCE = """
local stored = redis.call('HGET', KEYS[1], 'epoch')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'owner', ARGV[2])
redis.call('PERSIST', KEYS[1])
return 1
"""


def _ttl_ms(ttl: float) -> int:
    if not ttl > 0:
        raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
    return max(1, round(ttl * 1000))


def _run_id(info: str) -> str:
    """The ``run_id`` line of a raw ``INFO server`` answer."""
    for line in info.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    raise CoordinationError("INFO server gave no run_id")


def _parse_token(token: str) -> tuple[str, int] | None:
    run, _, client = token.rpartition(":")
    return (run, int(client)) if run and client.isdigit() else None


def _glob_escape(prefix: str) -> str:
    """``prefix`` as a literal in a SCAN MATCH pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix)


class RedisSession(Session):
    """One connection of its own, never used for anything but being there.

    ``keep`` never waits for the server: it reads the answers to earlier PINGs
    that have arrived (an end of stream means the server dropped the connection:
    a new one, with a new token, is opened at once) and sends one more PING, so
    that the connection is never idle (a server ``timeout`` would close it). A
    slow server therefore never makes the owner close its own session, which its
    observers would read as the owner's death."""

    def __init__(self, url: str, name: str, settings: RedisSettings) -> None:
        self._url = url
        self._name = name
        try:
            self._pool = redis.ConnectionPool.from_url(
                url,
                client_name=name,
                decode_responses=True,
                socket_timeout=settings.socket_timeout,
                socket_connect_timeout=settings.connect_timeout,
                max_connections=1,
                health_check_interval=0,  # its PINGs would read ours
                retry=Retry(NoBackoff(), 0),  # a silent reconnect would change the session unseen
            )
        except ValueError as exc:
            raise CoordinationError(f"bad Redis URL {url!r}: {exc}") from None
        self._conn: Any = self._pool.make_connection()  # redis-py leaves its methods untyped
        self._lock = threading.Lock()
        self._closed = False
        self._live = False  # connected, with self._token read on this connection
        self._token = ""
        with self._lock:
            self._open()

    @property
    def token(self) -> str:
        return self._token

    def keep(self) -> str:
        with self._lock:
            if self._closed:
                raise CoordinationError(f"session {self._name} on {self._url} is closed")
            if self._live:
                try:
                    while self._conn.can_read(timeout=0):
                        self._conn.read_response()
                    self._conn.send_command("PING")
                    return self._token
                except redis.ResponseError:
                    return self._token  # an error answer: the connection itself is fine
                except redis.RedisError as exc:
                    self._live = False
                    log.warning("session %s dropped (%s): opening a new one", self._name, exc)
            old = self._token
            self._open()
            log.warning("session %s re-opened: %s -> %s", self._name, old, self._token)
            return self._token

    def _open(self) -> None:
        """Connect (the client name is set on connect) and read the new token; lock held."""
        conn = self._conn
        conn.disconnect()
        try:
            conn.send_packed_command(conn.pack_commands([("CLIENT", "ID"), ("INFO", "server")]))
            client_id = conn.read_response()
            info = conn.read_response()
        except redis.RedisError as exc:
            conn.disconnect()
            raise CoordinationError(f"redis session {self._name!r} on {self._url} failed: {exc}") from exc
        self._token = f"{_run_id(str(info))}:{int(client_id)}"
        self._live = True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.disconnect()
            self._pool.disconnect()


class RedisCoordination(Coordination):
    """Thread-safe: redis-py's pool hands each call its own connection."""

    def __init__(self, url: str, settings: RedisSettings | None = None) -> None:
        self.url = url
        self._settings = s = settings or RedisSettings()
        try:
            self._pool = redis.ConnectionPool.from_url(
                url,
                decode_responses=True,
                socket_timeout=s.socket_timeout,
                socket_connect_timeout=s.connect_timeout,
                max_connections=s.max_connections,
                health_check_interval=s.health_check_interval,
                retry=Retry(NoBackoff(), s.connection_retries, supported_errors=(redis.ConnectionError,)),
            )
        except ValueError as exc:
            raise CoordinationError(f"bad Redis URL {url!r}: {exc}") from None
        self._r = redis.Redis(connection_pool=self._pool)
        self._refresh_claim = self._r.register_script(_REFRESH_CLAIM)
        self._release_claim = self._r.register_script(_RELEASE_CLAIM)
        self._acquire_lease = self._r.register_script(_ACQUIRE_LEASE)
        self._renew_lease = self._r.register_script(_RENEW_LEASE)
        self._release_lease = self._r.register_script(_RELEASE_LEASE)
        self._advance_fence = self._r.register_script(_ADVANCE_FENCE)

    @contextlib.contextmanager
    def _call(self, op: str, key: str = "") -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            target = f" {key!r}" if key else ""
            raise CoordinationError(f"redis {op}{target} on {self.url} failed: {exc}") from exc

    # --- plain keys ----------------------------------------------------------

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        px = None if ttl is None else _ttl_ms(ttl)
        with self._call("SET", key):
            self._r.set(key, value, px=px)

    def get(self, key: str) -> str | None:
        with self._call("GET", key):
            return cast("str | None", self._r.get(key))

    def get_many(self, keys: Collection[str]) -> dict[str, str]:
        """One MGET."""
        ordered = list(keys)
        if not ordered:
            return {}
        with self._call("MGET", ordered[0]):
            values = self._r.mget(ordered)
        return {key: cast(str, value) for key, value in zip(ordered, values, strict=True) if value is not None}

    def get_with_ttl(self, key: str) -> tuple[str, float | None] | None:
        with self._call("GET+PTTL", key):
            pipe = self._r.pipeline(transaction=True)
            pipe.get(key)
            pipe.pttl(key)
            value, pttl = pipe.execute()
        if value is None:
            return None
        return value, (None if pttl < 0 else pttl / 1000)

    def delete(self, key: str) -> bool:
        with self._call("DEL", key):
            return bool(self._r.delete(key))

    def claim(self, key: str, value: str, ttl: float) -> bool:
        px = _ttl_ms(ttl)
        with self._call("SET NX", key):
            return bool(self._r.set(key, value, nx=True, px=px))

    def refresh_claim(self, key: str, value: str, ttl: float) -> bool:
        px = _ttl_ms(ttl)
        with self._call("refresh_claim", key):
            return bool(self._refresh_claim(keys=[key], args=[value, px]))

    def release_claim(self, key: str, value: str) -> bool:
        with self._call("release_claim", key):
            return bool(self._release_claim(keys=[key], args=[value]))

    # --- hashes --------------------------------------------------------------

    def hset(self, key: str, mapping: Mapping[str, str], ttl: float | None = None) -> None:
        if not mapping:
            raise ValueError(f"hset of {key!r} needs at least one field")
        px = None if ttl is None else _ttl_ms(ttl)
        fields: dict[Any, Any] = dict(mapping)
        with self._call("HSET", key):
            pipe = self._r.pipeline(transaction=True)
            pipe.hset(key, mapping=fields)
            if px is not None:
                pipe.pexpire(key, px)
            pipe.execute()

    def hgetall(self, key: str) -> dict[str, str]:
        with self._call("HGETALL", key):
            return cast("dict[str, str]", self._r.hgetall(key))

    # --- discovery -----------------------------------------------------------

    def scan(self, prefix: str) -> list[str]:
        """SCAN MATCH ``prefix*`` (never KEYS); SCAN may repeat keys, so dedupe."""
        pattern = _glob_escape(prefix) + "*"
        with self._call("SCAN", prefix):
            found = set(self._r.scan_iter(match=pattern, count=self._settings.scan_count))
        return sorted(k for k in found if k.startswith(prefix))

    # --- leases --------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: float) -> Lease | None:
        px = _ttl_ms(ttl)
        with self._call("acquire_lease", name):
            epoch = int(self._acquire_lease(keys=[name, names.lease_epoch_key(name)], args=[holder, px]))
        return Lease(name, holder, epoch, ttl) if epoch > 0 else None

    def renew_lease(self, lease: Lease) -> bool:
        px = _ttl_ms(lease.ttl)
        with self._call("renew_lease", lease.name):
            return bool(self._renew_lease(keys=[lease.name], args=[lease.holder, str(lease.epoch), px]))

    def release_lease(self, lease: Lease) -> bool:
        with self._call("release_lease", lease.name):
            return bool(self._release_lease(keys=[lease.name], args=[lease.holder, str(lease.epoch)]))

    def current_lease(self, name: str) -> Lease | None:
        """The live holder; ``ttl`` is the time it has left."""
        with self._call("current_lease", name):
            pipe = self._r.pipeline(transaction=True)
            pipe.hmget(name, ["holder", "epoch"])
            pipe.pttl(name)
            (holder, epoch), pttl = pipe.execute()
        if holder is None or epoch is None:
            return None
        return Lease(name, holder, int(epoch), max(pttl, 0) / 1000)

    # --- fences --------------------------------------------------------------

    def advance_fence(self, key: str, epoch: int, owner: str) -> bool:
        if epoch < 0:
            raise ValueError(f"fence epoch must be >= 0, got {epoch}")
        with self._call("advance_fence", key):
            return bool(self._advance_fence(keys=[key], args=[epoch, owner]))

    def get_fence(self, key: str) -> Fence | None:
        with self._call("get_fence", key):
            epoch, owner = self._r.hmget(key, ["epoch", "owner"])
        if epoch is None:
            return None
        return Fence(int(epoch), cast(str, owner or ""))

    def get_fences(self, keys: Collection[str]) -> dict[str, Fence]:
        """One pipeline of HMGETs (not a transaction: each fence is read as it is)."""
        ordered = list(keys)
        if not ordered:
            return {}
        with self._call("get_fences", ordered[0]):
            pipe = self._r.pipeline(transaction=False)
            for key in ordered:
                pipe.hmget(key, ["epoch", "owner"])
            answers = pipe.execute()
        return {
            key: Fence(int(epoch), cast(str, owner or ""))
            for key, (epoch, owner) in zip(ordered, answers, strict=True)
            if epoch is not None
        }

    # --- sessions ------------------------------------------------------------

    def open_session(self, name: str) -> Session:
        return RedisSession(self.url, name, self._settings)

    def session_states(self, tokens: Collection[str]) -> dict[str, SessionState]:
        parsed = {token: _parse_token(token) for token in tokens}
        ids: list[EncodableT] = [*sorted({p[1] for p in parsed.values() if p is not None})]
        if not ids:
            return dict.fromkeys(tokens, SessionState.UNKNOWN)
        with self._call("INFO+CLIENT LIST"):
            pipe = self._r.pipeline(transaction=True)
            pipe.info("server")
            pipe.client_list(client_id=ids)
            info, listed = pipe.execute()
        run = info.get("run_id")
        connected = {int(client["id"]) for client in listed}
        out = {}
        for token, parts in parsed.items():
            if parts is None or parts[0] != run:
                out[token] = SessionState.UNKNOWN
            else:
                out[token] = SessionState.OPEN if parts[1] in connected else SessionState.CLOSED
        return out

    # --- lifecycle -----------------------------------------------------------

    def ping(self) -> None:
        with self._call("PING"):
            self._r.ping()

    def close(self) -> None:
        self._pool.disconnect()
