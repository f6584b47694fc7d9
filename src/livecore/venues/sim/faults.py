"""Faults the simulator injects on request, for the scenarios a real venue
produces now and then: a response lost after the order executed, a response
that comes too late, a private stream that drops in the middle of fills, a
client clock the venue refuses, rate-limit answers.

Thread-safe: armed from a test or the ``/_sim`` control API, consumed by the
request middleware and the private stream. A request is matched by
``"METHOD /path"`` containing ``match`` (empty: every venue request).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class _Armed:
    count: int
    match: str
    value: float = 0.0
    flag: bool = False

    def take(self, key: str) -> bool:
        if self.count > 0 and self.match in key:
            self.count -= 1
            return True
        return False


class Faults:
    """The armed faults of one simulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lost: list[_Armed] = []
        self._limited: list[_Armed] = []
        self._delayed: list[_Armed] = []
        self._drop_after: int | None = None
        self._skew_ms = 0

    # ---- arming ----------------------------------------------------------------

    def lose_responses(self, count: int = 1, *, match: str = "") -> None:
        """The next ``count`` matching requests are executed, then their connection is
        cut before the response is complete (the client sees a disconnect)."""
        with self._lock:
            self._lost.append(_Armed(count, match))

    def delay_responses(self, seconds: float, count: int = 1, *, match: str = "") -> None:
        """The next ``count`` matching requests are executed at once and answered after
        ``seconds`` (longer than the client's timeout: it sees a timeout)."""
        with self._lock:
            self._delayed.append(_Armed(count, match, seconds))

    def rate_limit(self, count: int = 1, *, retry_after_s: int = 1, match: str = "", banned: bool = False) -> None:
        """The next ``count`` matching requests are refused with HTTP 429 (``banned``:
        Binance's 418, the IP banned for a while) and the venue's ``Retry-After``."""
        with self._lock:
            self._limited.append(_Armed(count, match, float(retry_after_s), banned))

    def drop_private_stream(self, after: int = 0) -> None:
        """Close every private websocket after ``after`` more account events; the
        events that follow until the client reconnects are lost to it."""
        with self._lock:
            self._drop_after = after

    def set_clock_skew(self, ms: int) -> None:
        """Move the venue's clock ``ms`` ahead of this machine's (negative: behind), so
        clients that sign with their own clock are refused for their timestamp."""
        with self._lock:
            self._skew_ms = int(ms)

    def clear(self) -> None:
        """Disarm everything and put the clock right."""
        with self._lock:
            self._lost.clear()
            self._limited.clear()
            self._delayed.clear()
            self._drop_after = None
            self._skew_ms = 0

    # ---- consuming ---------------------------------------------------------------

    @property
    def clock_skew_ms(self) -> int:
        return self._skew_ms

    def take_rate_limit(self, key: str) -> tuple[int, bool] | None:
        """``(Retry-After seconds, banned)`` if this request is refused, else None."""
        with self._lock:
            armed = next((a for a in self._limited if a.take(key)), None)
        return None if armed is None else (int(armed.value), armed.flag)

    def take_lost(self, key: str) -> bool:
        with self._lock:
            return any(a.take(key) for a in self._lost)

    def take_delay(self, key: str) -> float:
        with self._lock:
            armed = next((a for a in self._delayed if a.take(key)), None)
        return 0.0 if armed is None else armed.value

    def take_private_drop(self) -> bool:
        """Called before each account event: True when the private streams close now."""
        with self._lock:
            if self._drop_after is None:
                return False
            if self._drop_after > 0:
                self._drop_after -= 1
                return False
            self._drop_after = None
            return True
