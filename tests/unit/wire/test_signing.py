"""Commands are accepted only when authentic, fresh and new."""

from __future__ import annotations

import threading

import msgspec
import pytest

from livecore.wire.codec import encode, schedule_commands
from livecore.wire.signing import CommandRejected, CommandSigner, CommandVerifier

SECOND = 1_000_000_000


class FakeClock:
    def __init__(self, now: int = 1_700_000_000 * SECOND) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make(clock: FakeClock, secret: str = "s3cret") -> tuple[CommandSigner, CommandVerifier]:
    return CommandSigner(secret, clock=clock), CommandVerifier(secret, max_age_s=60, max_skew_s=5, clock=clock)


def test_signed_command_verifies_once_then_is_a_replay() -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = signer.build("portfolio.load", "node-1", "p1", {"epoch": 3})
    verifier.verify(command)
    with pytest.raises(CommandRejected) as info:
        verifier.verify(command)
    assert info.value.reason == "replayed"


def test_signature_survives_the_wire() -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = signer.build("portfolio.migrate", "node-1", "p1", {"to": "node-2", "b": 1, "a": [1, 2]})
    verifier.verify(schedule_commands.decode(encode(command)))


@pytest.mark.parametrize(
    "tamper",
    [
        {"target_node": "node-2"},
        {"portfolio_id": "p2"},
        {"command": "node.shutdown"},
        {"params": {"epoch": 4}},
        {"issued_at_ns": 1_700_000_001 * SECOND},
        {"nonce": "other"},
    ],
)
def test_any_changed_field_is_forged(tamper: dict[str, object]) -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = msgspec.structs.replace(signer.build("portfolio.load", "node-1", "p1", {"epoch": 3}), **tamper)
    with pytest.raises(CommandRejected) as info:
        verifier.verify(command)
    assert info.value.reason == "forged"


def test_wrong_secret_is_forged_and_unsigned_is_refused() -> None:
    clock = FakeClock()
    command = CommandSigner("other", clock=clock).build("node.pause", "node-1")
    _, verifier = make(clock)
    with pytest.raises(CommandRejected, match="forged"):
        verifier.verify(command)
    with pytest.raises(CommandRejected, match="unsigned"):
        verifier.verify(msgspec.structs.replace(command, signature=""))


def test_expired_and_future_commands_are_refused() -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    old = signer.build("node.pause", "node-1")
    clock.now += 61 * SECOND
    with pytest.raises(CommandRejected, match="expired"):
        verifier.verify(old)
    future = signer.build("node.pause", "node-1")
    clock.now -= 10 * SECOND
    with pytest.raises(CommandRejected, match="from_future"):
        verifier.verify(future)


def test_nonce_window_is_pruned_but_replays_stay_refused_as_expired() -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    first = signer.build("node.pause", "node-1")
    verifier.verify(first)
    clock.now += 120 * SECOND
    verifier.verify(signer.build("node.resume", "node-1"))
    with pytest.raises(CommandRejected, match="expired"):
        verifier.verify(first)


def test_concurrent_replays_accept_exactly_one() -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = signer.build("portfolio.reload", "node-1", "p1")
    accepted: list[int] = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            verifier.verify(command)
            accepted.append(i)
        except CommandRejected:
            pass

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 1
