"""Commands are accepted only when authentic, fresh and new."""

from __future__ import annotations

import threading

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- verification never raises anything but CommandRejected ---------------------

hostile_signatures = st.one_of(
    st.text(max_size=300),  # any unicode, including non-ASCII and control characters
    st.text(alphabet="0123456789abcdefABCDEF", min_size=60, max_size=68),
    st.text(alphabet="\u00e9\u4e2d\U0001f600\x00", min_size=64, max_size=64),
    st.binary(max_size=80).map(lambda b: b.hex()),
    st.just("x" * 100_000),
)


@settings(max_examples=300, deadline=None)
@given(signature=hostile_signatures, issued=st.integers(min_value=-(2**80), max_value=2**80))
def test_any_signature_is_refused_never_raised(signature: str, issued: int) -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = msgspec.structs.replace(signer.build("node.pause", "node-1"), issued_at_ns=issued, signature=signature)
    with pytest.raises(CommandRejected) as info:
        verifier.verify(command)
    assert info.value.reason in {"unsigned", "forged"}


@settings(max_examples=100, deadline=None)
@given(issued=st.integers(min_value=-(2**200), max_value=2**200))
def test_authentic_command_with_any_timestamp_is_accepted_or_refused(issued: int) -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = signer.sign(msgspec.structs.replace(signer.build("node.pause", "node-1"), issued_at_ns=issued))
    try:
        verifier.verify(command)
    except CommandRejected as exc:
        assert exc.reason in {"expired", "from_future"}
    else:
        assert abs(clock.now - issued) <= 60 * SECOND


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("params", [{"x": object()}, {"deep": _nested(100_000)}, {"f": float("nan")}])
def test_parameters_that_do_not_encode_are_refused_never_raised(params: dict[str, object]) -> None:
    clock = FakeClock()
    signer, verifier = make(clock)
    command = msgspec.structs.replace(signer.build("node.pause", "node-1"), params=params)
    with pytest.raises(CommandRejected) as info:
        verifier.verify(command)
    assert info.value.reason == "forged"
