"""How long to wait after a venue's rate-limit answer, and the pause every
placement then keeps.

Binance answers a request over its limits with HTTP 429, and an IP that keeps
sending with 418 (banned); both carry ``Retry-After`` (seconds). OKX answers
with code 50011 (HTTP 429) and no header. Sending before ``Retry-After`` has
passed is what turns a 429 into a ban, so the wait is at least what the venue
asked; without the header it is the broker's own doubling pause. A wait longer
than ``max_wait_s`` is not waited out inside an order's flow: the order is
rejected ``rate_limited`` (its market will have moved by then).

The venue's limits are per account or IP, not per order: ``RateGate`` keeps
every placement quiet until the last ``Retry-After`` has passed. Pure: the
caller passes the time and sleeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_AFTER = "retry-after"


def retry_after_s(headers: Mapping[str, str], now_s: float) -> float | None:
    """The ``Retry-After`` of a response in seconds (delay-seconds or an HTTP date), or None."""
    value = next((v for k, v in headers.items() if k.lower() == RETRY_AFTER), None)
    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now_s
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None  # a date already past: no wait


@dataclass(frozen=True, slots=True)
class RateLimitBackoff:
    """``base_s`` doubling per answer without a header; ``Retry-After`` when given."""

    base_s: float
    max_wait_s: float

    def pause(self, answers: int, retry_after: float | None) -> float | None:
        """The wait after the ``answers``-th rate-limit answer (1 for the first), or
        None when the venue asks for more than ``max_wait_s``."""
        own = self.base_s * float(2 ** (answers - 1))
        if retry_after is None:
            return own
        return retry_after if retry_after <= self.max_wait_s else None


class RateGate:
    """The time (the caller's clock, ns) before which nothing is placed."""

    def __init__(self) -> None:
        self.quiet_until_ns = 0

    def hold(self, now_ns: int, pause_s: float) -> None:
        self.quiet_until_ns = max(self.quiet_until_ns, now_ns + round(pause_s * 1e9))

    def remaining(self, now_ns: int) -> float:
        """Seconds still to wait."""
        return max(0, self.quiet_until_ns - now_ns) / 1e9


# the response headers of the request the current task is making (``responses``)
_SEEN: ContextVar[dict[str, str] | None] = ContextVar("venue_response_headers", default=None)


def capture_headers(client: Any) -> None:
    """Have ``client`` (ccxt) hand each REST response's headers to the task that
    made the request, through ccxt's ``on_rest_response`` hook: ccxt's exceptions
    carry none, and its ``last_response_headers`` belongs to whichever request
    of the client answered last."""
    hook = client.on_rest_response

    def on_rest_response(code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any, *rest: Any) -> Any:
        seen = _SEEN.get()
        if seen is not None and isinstance(headers, Mapping):
            seen.clear()
            seen.update({str(k): str(v) for k, v in headers.items()})
        return hook(code, reason, url, method, headers, body, *rest)

    client.on_rest_response = on_rest_response


@contextmanager
def responses() -> Iterator[dict[str, str]]:
    """Inside, the headers of the last response to a request of this task (empty
    until one arrives; a request with no response leaves them as they were)."""
    seen: dict[str, str] = {}
    token = _SEEN.set(seen)
    try:
        yield seen
    finally:
        _SEEN.reset(token)
