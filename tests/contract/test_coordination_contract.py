"""One contract for every coordination backend: in-process memory and a real
redis-server (the ``coord_url`` fixture runs each case on both).

The redis-server is shared by the session, so every test works under its own
key prefix. Expiry is awaited with ``wait_until`` (short TTLs, polled), never
with a fixed sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from livecore.adapters.factory import open_coordination
from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.adapters.redis_coordination import RedisCoordination
from livecore.errors import BackendUnavailable
from livecore.ports.coordination import Coordination, CoordinationError, Fence, Lease, SessionState
from tests.concurrency import race as race_threads
from tests.servers import free_port, redis_server, wait_until

T = TypeVar("T")

SHORT_TTL = 0.2
WAIT = 5.0


@pytest.fixture
def coord(coord_url: str) -> Iterator[Coordination]:
    backend = open_coordination(coord_url)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def ns() -> str:
    """A key prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}:"


def race(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(i)`` in ``count`` threads released together; results by index."""
    return race_threads(count, action, barrier_timeout=WAIT, join_timeout=30)


# --- plain keys --------------------------------------------------------------


def test_set_get_and_overwrite(coord: Coordination, ns: str) -> None:
    assert coord.get(ns + "k") is None
    coord.set(ns + "k", "one")
    assert coord.get(ns + "k") == "one"
    coord.set(ns + "k", "two")
    assert coord.get(ns + "k") == "two"


def test_get_many_reads_every_key_at_once(coord: Coordination, ns: str) -> None:
    coord.set(ns + "a", "1")
    coord.set(ns + "b", "2", ttl=30)
    coord.hset(ns + "h", {"f": "v"})
    assert coord.get_many([ns + "a", ns + "b", ns + "never", ns + "h"]) == {ns + "a": "1", ns + "b": "2"}
    assert coord.get_many([]) == {}


def test_value_with_ttl_expires(coord: Coordination, ns: str) -> None:
    coord.set(ns + "k", "v", ttl=SHORT_TTL)
    coord.set(ns + "stays", "v")
    wait_until(lambda: coord.get(ns + "k") is None, WAIT, "key expiry")
    assert coord.get_with_ttl(ns + "k") is None
    assert coord.get(ns + "stays") == "v"


def test_get_with_ttl_reports_remaining_time(coord: Coordination, ns: str) -> None:
    coord.set(ns + "ttl", "v", ttl=30)
    coord.set(ns + "forever", "w")
    value, remaining = coord.get_with_ttl(ns + "ttl")  # type: ignore[misc]
    assert value == "v"
    assert remaining is not None and 0 < remaining <= 30
    assert coord.get_with_ttl(ns + "forever") == ("w", None)
    assert coord.get_with_ttl(ns + "absent") is None


def test_set_without_ttl_makes_key_persistent(coord: Coordination, ns: str) -> None:
    coord.set(ns + "k", "v", ttl=30)
    coord.set(ns + "k", "w")
    assert coord.get_with_ttl(ns + "k") == ("w", None)


def test_non_positive_ttl_is_refused(coord: Coordination, ns: str) -> None:
    with pytest.raises(ValueError):
        coord.set(ns + "k", "v", ttl=0)
    with pytest.raises(ValueError):
        coord.claim(ns + "k", "v", ttl=-1)


def test_delete_reports_whether_key_existed(coord: Coordination, ns: str) -> None:
    coord.set(ns + "k", "v")
    assert coord.delete(ns + "k") is True
    assert coord.get(ns + "k") is None
    assert coord.delete(ns + "k") is False


def test_string_read_of_a_hash_is_an_error(coord: Coordination, ns: str) -> None:
    coord.hset(ns + "h", {"a": "1"})
    with pytest.raises(CoordinationError):
        coord.get(ns + "h")


# --- claims ------------------------------------------------------------------


def test_claim_only_when_absent(coord: Coordination, ns: str) -> None:
    assert coord.claim(ns + "c", "me", ttl=30) is True
    assert coord.claim(ns + "c", "other", ttl=30) is False
    assert coord.get(ns + "c") == "me"


def test_claim_is_free_again_after_expiry(coord: Coordination, ns: str) -> None:
    assert coord.claim(ns + "c", "me", ttl=SHORT_TTL) is True
    wait_until(lambda: coord.claim(ns + "c", "other", ttl=30), WAIT, "claim after expiry")
    assert coord.get(ns + "c") == "other"


@pytest.mark.parametrize("threads", [2, 8])
def test_claim_race_has_exactly_one_winner(coord: Coordination, ns: str, threads: int) -> None:
    results = race(threads, lambda i: coord.claim(ns + "c", f"n{i}", ttl=30))
    assert results.count(True) == 1
    assert coord.get(ns + "c") == f"n{results.index(True)}"


def test_refresh_claim_only_by_owner(coord: Coordination, ns: str) -> None:
    coord.claim(ns + "c", "me", ttl=SHORT_TTL)
    assert coord.refresh_claim(ns + "c", "other", ttl=30) is False
    assert coord.refresh_claim(ns + "c", "me", ttl=30) is True
    _, remaining = coord.get_with_ttl(ns + "c")  # type: ignore[misc]
    assert remaining is not None and remaining > SHORT_TTL
    assert coord.refresh_claim(ns + "absent", "me", ttl=30) is False


def test_release_claim_only_by_owner(coord: Coordination, ns: str) -> None:
    coord.claim(ns + "c", "me", ttl=30)
    assert coord.release_claim(ns + "c", "other") is False
    assert coord.get(ns + "c") == "me"
    assert coord.release_claim(ns + "c", "me") is True
    assert coord.get(ns + "c") is None
    assert coord.release_claim(ns + "c", "me") is False


# --- hashes ------------------------------------------------------------------


def test_hset_merges_fields(coord: Coordination, ns: str) -> None:
    assert coord.hgetall(ns + "h") == {}
    coord.hset(ns + "h", {"a": "1", "b": "2"})
    coord.hset(ns + "h", {"b": "3", "c": "4"})
    assert coord.hgetall(ns + "h") == {"a": "1", "b": "3", "c": "4"}


def test_hash_with_ttl_expires(coord: Coordination, ns: str) -> None:
    coord.hset(ns + "h", {"queue_size": "0", "state": "running"}, ttl=SHORT_TTL)
    assert coord.hgetall(ns + "h") == {"queue_size": "0", "state": "running"}
    wait_until(lambda: coord.hgetall(ns + "h") == {}, WAIT, "hash expiry")


def test_hset_with_ttl_renews_the_hash(coord: Coordination, ns: str) -> None:
    coord.hset(ns + "h", {"a": "1"}, ttl=SHORT_TTL)
    coord.hset(ns + "h", {"b": "2"}, ttl=30)
    coord.set(ns + "marker", "m", ttl=SHORT_TTL)
    wait_until(lambda: coord.get(ns + "marker") is None, WAIT, "marker expiry")
    assert coord.hgetall(ns + "h") == {"a": "1", "b": "2"}


def test_hset_without_fields_is_refused(coord: Coordination, ns: str) -> None:
    with pytest.raises(ValueError):
        coord.hset(ns + "h", {})


# --- scan --------------------------------------------------------------------


def test_scan_by_prefix(coord: Coordination, ns: str) -> None:
    coord.set(ns + "node:a", "1")
    coord.set(ns + "node:b", "2", ttl=30)
    coord.hset(ns + "node:c", {"f": "v"})
    coord.set(ns + "nodes", "not under the prefix")
    coord.set(ns + "other:a", "3")
    coord.set(ns + "node:gone", "4", ttl=SHORT_TTL)
    assert ns + "node:a" in coord.scan(ns + "node:")
    wait_until(lambda: ns + "node:gone" not in coord.scan(ns + "node:"), WAIT, "expired key leaves scan")
    assert coord.scan(ns + "node:") == [ns + "node:a", ns + "node:b", ns + "node:c"]
    assert coord.scan(ns + "absent:") == []


def test_scan_prefix_with_glob_characters_is_literal(coord: Coordination, ns: str) -> None:
    coord.set(ns + "a*[b]?:1", "x")
    coord.set(ns + "aXbb:1", "y")
    coord.set(ns + "a\\:1", "z")
    assert coord.scan(ns + "a*[b]?:") == [ns + "a*[b]?:1"]
    assert coord.scan(ns + "a\\") == [ns + "a\\:1"]


# --- leases ------------------------------------------------------------------


def test_lease_acquire_renew_and_refuse_second_holder(coord: Coordination, ns: str) -> None:
    name = ns + "leader"
    assert coord.current_lease(name) is None
    lease = coord.acquire_lease(name, "a", ttl=30)
    assert lease is not None and lease.holder == "a" and lease.epoch >= 1
    assert coord.acquire_lease(name, "b", ttl=30) is None
    again = coord.acquire_lease(name, "a", ttl=30)
    assert again is not None and again.epoch == lease.epoch
    assert coord.renew_lease(lease) is True
    current = coord.current_lease(name)
    assert current is not None
    assert (current.holder, current.epoch) == ("a", lease.epoch)
    assert 0 < current.ttl <= 30


def test_lease_takeover_after_expiry_bumps_epoch(coord: Coordination, ns: str) -> None:
    name = ns + "leader"
    first = coord.acquire_lease(name, "a", ttl=SHORT_TTL)
    assert first is not None
    wait_until(lambda: coord.current_lease(name) is None, WAIT, "lease expiry")
    second = coord.acquire_lease(name, "b", ttl=30)
    assert second is not None and second.epoch == first.epoch + 1
    assert coord.renew_lease(first) is False
    assert coord.release_lease(first) is False
    current = coord.current_lease(name)
    assert current is not None and current.holder == "b"


def test_stale_lease_of_the_same_holder_is_refused(coord: Coordination, ns: str) -> None:
    name = ns + "leader"
    old = coord.acquire_lease(name, "a", ttl=SHORT_TTL)
    assert old is not None
    wait_until(lambda: coord.current_lease(name) is None, WAIT, "lease expiry")
    new = coord.acquire_lease(name, "a", ttl=30)
    assert new is not None and new.epoch == old.epoch + 1
    assert coord.renew_lease(old) is False
    assert coord.release_lease(old) is False
    assert coord.release_lease(new) is True


def test_lease_epochs_never_go_back(coord: Coordination, ns: str) -> None:
    name = ns + "leader"
    epochs = []
    for holder in ["a", "b", "a", "c"]:
        lease = coord.acquire_lease(name, holder, ttl=30)
        assert lease is not None
        epochs.append(lease.epoch)
        assert coord.release_lease(lease) is True
        assert coord.current_lease(name) is None
    assert epochs == list(range(epochs[0], epochs[0] + 4))
    forged = Lease(name, "c", epochs[-1], 30)
    assert coord.release_lease(forged) is False


def test_lease_race_has_exactly_one_holder(coord: Coordination, ns: str) -> None:
    name = ns + "leader"
    results = race(8, lambda i: coord.acquire_lease(name, f"n{i}", ttl=30))
    winners = [lease for lease in results if lease is not None]
    assert len(winners) == 1
    current = coord.current_lease(name)
    assert current is not None and current.holder == winners[0].holder


# --- fences ------------------------------------------------------------------


def test_fence_advances_and_refuses_stale_writers(coord: Coordination, ns: str) -> None:
    key = ns + "portfolio:epoch:p1"
    assert coord.get_fence(key) is None
    assert coord.advance_fence(key, 1, "n1") is True
    assert coord.get_fence(key) == Fence(1, "n1")
    assert coord.advance_fence(key, 1, "n2") is False
    assert coord.advance_fence(key, 0, "n2") is False
    assert coord.get_fence(key) == Fence(1, "n1")
    assert coord.advance_fence(key, 5, "n2") is True
    assert coord.advance_fence(key, 4, "n1") is False
    assert coord.get_fence(key) == Fence(5, "n2")


def test_get_fences_reads_many_at_once(coord: Coordination, ns: str) -> None:
    coord.advance_fence(ns + "f1", 3, "n1")
    coord.advance_fence(ns + "f2", 5, "")
    coord.set(ns + "plain", "v")
    assert coord.get_fences([ns + "f1", ns + "f2", ns + "never"]) == {
        ns + "f1": Fence(3, "n1"),
        ns + "f2": Fence(5, ""),
    }
    assert coord.get_fences([]) == {}


def test_concurrent_fence_advancers_highest_wins(coord: Coordination, ns: str) -> None:
    key = ns + "portfolio:epoch:p1"
    threads, per_thread = 8, 12
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            fence = coord.get_fence(key)
            if fence is not None:
                seen.append(fence.epoch)

    def advance(i: int) -> list[int]:
        won = []
        for epoch in range(i + 1, threads * per_thread + 1, threads):
            if coord.advance_fence(key, epoch, f"n{i}"):
                won.append(epoch)
        return won

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = race(threads, advance)
    finally:
        done.set()
        watcher.join(timeout=30)
    top = threads * per_thread
    assert coord.get_fence(key) == Fence(top, f"n{(top - 1) % threads}")
    assert seen == sorted(seen), "a reader saw the fence go back"
    assert sum(len(won) for won in results) >= 1


# --- sessions ----------------------------------------------------------------


def test_session_is_open_until_its_owner_closes_it(coord: Coordination, ns: str) -> None:
    session = coord.open_session(ns + "owner")
    token = session.token
    assert coord.session_states([token]) == {token: SessionState.OPEN}
    assert session.keep() == token
    assert session.keep() == token  # keeping an open session changes nothing
    assert coord.session_states([token]) == {token: SessionState.OPEN}
    session.close()
    wait_until(lambda: coord.session_states([token])[token] is SessionState.CLOSED, WAIT, "session closed")
    session.close()  # idempotent
    with pytest.raises(CoordinationError):
        session.keep()


def test_sessions_have_their_own_tokens_and_are_read_together(coord: Coordination, ns: str) -> None:
    one, two, three = (coord.open_session(f"{ns}owner{i}") for i in range(3))
    try:
        assert len({one.token, two.token, three.token}) == 3
        two.close()
        wait_until(lambda: coord.session_states([two.token])[two.token] is SessionState.CLOSED, WAIT, "closed")
        states = coord.session_states([one.token, two.token, three.token])
        assert states == {
            one.token: SessionState.OPEN,
            two.token: SessionState.CLOSED,
            three.token: SessionState.OPEN,
        }
    finally:
        for session in (one, two, three):
            session.close()


def test_a_token_of_another_run_or_no_token_at_all_is_unknown(coord: Coordination, ns: str) -> None:
    session = coord.open_session(ns + "owner")
    try:
        other_run = "x" + session.token  # the same serial, issued by another run of the backend
        states = coord.session_states([other_run, "", "not-a-token", ":", session.token])
        assert states == {
            other_run: SessionState.UNKNOWN,
            "": SessionState.UNKNOWN,
            "not-a-token": SessionState.UNKNOWN,
            ":": SessionState.UNKNOWN,
            session.token: SessionState.OPEN,
        }
        assert coord.session_states([]) == {}
    finally:
        session.close()


# --- sessions: what only a server can show ---------------------------------------

_HOLDER = """
import sys, time
from livecore.adapters.redis_coordination import RedisCoordination
session = RedisCoordination(sys.argv[1]).open_session(sys.argv[2])
print(session.token, flush=True)
time.sleep(600)
"""


def _holder(url: str, name: str) -> tuple[subprocess.Popen[str], str]:
    """A process of its own holding a session; returns it and the session's token."""
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, url, name], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    token = child.stdout.readline().strip()
    assert token, "the holder printed no token"
    return child, token


@pytest.mark.redis
def test_redis_session_ends_when_its_process_dies_not_when_it_stalls(redis_url: str) -> None:
    """kill -9 closes the process's socket: CLOSED at once. SIGSTOP keeps it: OPEN."""
    coord = RedisCoordination(redis_url)
    name = f"livecore-node:t{uuid.uuid4().hex[:8]}"
    child, token = _holder(redis_url, name)
    try:
        assert name in {c["name"] for c in coord._r.client_list()}
        os.kill(child.pid, signal.SIGSTOP)
        assert coord.session_states([token]) == {token: SessionState.OPEN}
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        wait_until(lambda: coord.session_states([token])[token] is SessionState.CLOSED, WAIT, "session closed")
    finally:
        child.kill()
        child.wait(10)
        coord.close()


@pytest.mark.redis
def test_redis_restart_leaves_old_tokens_unknown_and_keep_opens_a_new_session() -> None:
    """Every connection drops when redis-server restarts: that is nobody's death."""
    with redis_server() as server:
        coord = RedisCoordination(server.url)
        session = coord.open_session("livecore-node:restart")
        try:
            before = session.keep()
            server.restart()
            assert coord.session_states([before]) == {before: SessionState.UNKNOWN}
            after = session.keep()
            assert after != before
            assert coord.session_states([before, after]) == {
                before: SessionState.UNKNOWN,
                after: SessionState.OPEN,
            }
            assert session.keep() == after
        finally:
            session.close()
            coord.close()


# --- lifecycle ---------------------------------------------------------------


def test_ping(coord: Coordination) -> None:
    coord.ping()


def test_unreachable_redis_fails_fast() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(BackendUnavailable, match="Redis"):
        open_coordination(url)
    coord = RedisCoordination(url)
    try:
        with pytest.raises(CoordinationError, match="GET 'k'"):
            coord.get("k")
        with pytest.raises(CoordinationError, match="advance_fence"):
            coord.advance_fence("k", 1, "n1")
    finally:
        coord.close()


# --- memory only: named instances and an injected clock ----------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_named_returns_one_instance_per_name() -> None:
    name = f"memory://{uuid.uuid4().hex}"
    assert MemoryCoordination.named(name) is MemoryCoordination.named(name)
    assert MemoryCoordination.named(name) is not MemoryCoordination.named(name + "x")
    assert open_coordination(name) is MemoryCoordination.named(name)


def test_memory_named_is_shared_across_threads() -> None:
    name = f"memory://{uuid.uuid4().hex}"
    instances = race(8, lambda i: MemoryCoordination.named(name))
    assert all(instance is instances[0] for instance in instances)


def test_memory_clock_drives_expiry_and_fences_never_expire() -> None:
    clock = FakeClock()
    coord = MemoryCoordination(clock=clock)
    coord.set("k", "v", ttl=2)
    coord.hset("h", {"a": "1"}, ttl=2)
    lease = coord.acquire_lease("lease", "a", ttl=2)
    coord.advance_fence("fence", 3, "n1")
    clock.now += 1.5
    assert coord.get_with_ttl("k") == ("v", pytest.approx(0.5))
    clock.now += 1.0
    assert coord.get("k") is None
    assert coord.hgetall("h") == {}
    assert coord.current_lease("lease") is None
    clock.now += 10**6
    assert coord.get_fence("fence") == Fence(3, "n1")
    taken = coord.acquire_lease("lease", "b", ttl=2)
    assert lease is not None and taken is not None and taken.epoch == lease.epoch + 1


def test_memory_sweep_drops_unread_expired_keys() -> None:
    clock = FakeClock()
    coord = MemoryCoordination(clock=clock)
    for i in range(100):
        coord.set(f"k{i}", "v", ttl=1)
    clock.now += 5
    coord.set("trigger", "v")
    assert coord.scan("k") == []
    assert len(coord._keys.entries) == 1
