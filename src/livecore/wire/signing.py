"""Signing and verification of schedule commands.

A command is signed with HMAC-SHA256 over its canonical encoding (sorted keys,
``signature`` empty). The verifier refuses unsigned, forged, expired and
replayed commands; each refusal names its reason so it can be audited.
Verification never raises anything but ``CommandRejected``: whatever a command
carries (a non-ASCII, non-hex, short or huge signature, parameters that do not
encode), the answer is a refusal, never a crash of the loop that asked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import msgspec

from livecore.wire.codec import encode_canonical
from livecore.wire.messages import ScheduleCommand

Clock = Callable[[], int]
DEFAULT_MAX_AGE_S = 60.0
DEFAULT_MAX_SKEW_S = 5.0


REPLAYED = "replayed"
# every reason ``CommandVerifier`` can give; ``malformed``: a value that cannot even be checked
REJECTION_REASONS: tuple[str, ...] = ("unsigned", "forged", "expired", "from_future", REPLAYED, "malformed")


class CommandRejected(Exception):
    """A command failed verification; ``reason`` is one of ``REJECTION_REASONS``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_SIGNATURE_LENGTH = hashlib.sha256().digest_size * 2  # hex
_HEX = frozenset("0123456789abcdef")


def _digest(secret: bytes, command: ScheduleCommand) -> str:
    unsigned = msgspec.structs.replace(command, signature="")
    return hmac.new(secret, encode_canonical(unsigned), hashlib.sha256).hexdigest()


def _well_formed(signature: object) -> bool:
    """A lowercase hex SHA-256 digest, as ``CommandSigner`` writes it."""
    return isinstance(signature, str) and len(signature) == _SIGNATURE_LENGTH and _HEX.issuperset(signature)


class CommandSigner:
    """Builds signed commands; used by the scheduler and the operator CLI."""

    def __init__(self, secret: str | bytes, clock: Clock = time.time_ns) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._clock = clock

    def sign(self, command: ScheduleCommand) -> ScheduleCommand:
        """Return ``command`` with its signature set."""
        return msgspec.structs.replace(command, signature=_digest(self._secret, command))

    def build(
        self,
        command: str,
        target_node: str,
        portfolio_id: str | None = None,
        params: dict[str, Any] | None = None,
        nonce: str | None = None,
    ) -> ScheduleCommand:
        """A new command issued now, signed; with a fresh nonce unless one was chosen
        before (``new_nonce``: a migration tells its target the load's nonce early)."""
        unsigned = ScheduleCommand(
            command=command,
            target_node=target_node,
            portfolio_id=portfolio_id,
            params=dict(params or {}),
            issued_at_ns=self._clock(),
            nonce=nonce or new_nonce(),
        )
        return self.sign(unsigned)


def new_nonce() -> str:
    """A command nonce: 96 random bits."""
    return secrets.token_hex(12)


class CommandVerifier:
    """Checks signature, age and nonce of incoming commands. Thread-safe.

    The nonce cache only needs to cover the age window: anything older is
    refused as expired before the cache is consulted.
    """

    def __init__(
        self,
        secret: str | bytes,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_skew_s: float = DEFAULT_MAX_SKEW_S,
        clock: Clock = time.time_ns,
        max_nonces: int = 100_000,
    ) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._max_age_ns = int(max_age_s * 1e9)
        self._max_skew_ns = int(max_skew_s * 1e9)
        self._clock = clock
        self._max_nonces = max_nonces
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, command: ScheduleCommand) -> None:
        """Raise ``CommandRejected`` unless ``command`` is authentic, fresh and new.
        Nothing else is raised, whatever ``command`` holds."""
        try:
            self._verify(command)
        except CommandRejected:
            raise
        except Exception as exc:  # a last guard: a hostile command must not crash the caller
            raise CommandRejected("malformed", f"cannot be verified ({type(exc).__name__})") from None

    def _verify(self, command: ScheduleCommand) -> None:
        self._check_signature(command)
        now = self._clock()
        age = now - command.issued_at_ns
        if age > self._max_age_ns:
            raise CommandRejected("expired", f"{command.command} issued {age // 10**9}s ago")
        if age < -self._max_skew_ns:
            raise CommandRejected("from_future", f"{command.command} issued {-age // 10**9}s ahead")
        with self._lock:
            self._forget_older_than(now - self._max_age_ns - self._max_skew_ns)
            if command.nonce in self._seen:
                raise CommandRejected(REPLAYED, f"{command.command} nonce {command.nonce} seen before")
            self._seen[command.nonce] = command.issued_at_ns
            while len(self._seen) > self._max_nonces:
                self._seen.popitem(last=False)

    def _check_signature(self, command: ScheduleCommand) -> None:
        name = str(command.command)[:64]
        if not command.signature:
            raise CommandRejected("unsigned", f"{name} carries no signature")
        if not _well_formed(command.signature):
            raise CommandRejected("forged", f"{name}: signature is not a hex SHA-256 digest")
        try:
            expected = _digest(self._secret, command)
        except Exception as exc:  # parameters that cannot be encoded cannot have been signed
            raise CommandRejected("forged", f"{name}: cannot be encoded ({type(exc).__name__})") from None
        # both are ASCII hex of equal length here: compare_digest on bytes cannot raise
        if not hmac.compare_digest(expected.encode(), command.signature.encode()):
            raise CommandRejected("forged", f"{name}: signature does not match")

    def _forget_older_than(self, cutoff_ns: int) -> None:
        while self._seen:
            nonce, issued = next(iter(self._seen.items()))
            if issued >= cutoff_ns:
                break
            del self._seen[nonce]
