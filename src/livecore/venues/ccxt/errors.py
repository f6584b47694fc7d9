"""What a ccxt exception means for an order, and the reason a portfolio reads.

NautilusTrader's lesson, written down: an answer is definitive only when the
venue itself said no. Everything else leaves the order's fate unknown.

- ``REFUSED``: ``ExchangeError`` and its subclasses (insufficient funds,
  invalid order, bad symbol, authentication): rejected back to the portfolio
  with the reason.
- ``RATE_LIMITED``: ``RateLimitExceeded``, ``DDoSProtection`` (HTTP 429/418:
  the request was turned away): waited out, backing off, and sent again.
- ``CLOCK``: ``InvalidNonce`` (Binance ``-1021``: the request's timestamp is
  outside the venue's window): the venue's time is read, requests are signed
  with it, and the order is sent once more.
- ``UNKNOWN``: any other ``NetworkError`` (timeouts, HTTP 5xx, disconnects),
  any exception raised from a failed connection (ccxt turns a response cut
  short into a bare ``ExchangeError``: the venue's answer never arrived) and
  anything unforeseen: the order is looked up by client id before anything
  else.
"""

from __future__ import annotations

import asyncio
import enum

import aiohttp
import ccxt

from livecore.errors import BackendUnavailable
from livecore.venues.ccxt.markets import MIN_NOTIONAL, PRECISION

INSUFFICIENT_BALANCE = "insufficient_balance"
VENUE_REJECTED = "venue_rejected"
AUTHENTICATION = "authentication"
CLOCK_SKEW = "clock_skew"
RATE_LIMITED = "rate_limited"
NOT_RECEIVED = "not_received"


class Outcome(enum.Enum):
    REFUSED = "refused"
    RATE_LIMITED = "rate_limited"
    CLOCK = "clock"
    UNKNOWN = "unknown"


class VenueUnavailable(BackendUnavailable):
    """The venue did not answer (a network error): transient for the gateway's loops."""


def outcome_of(exc: BaseException) -> Outcome:
    if _transport_failed(exc):
        return Outcome.UNKNOWN  # ccxt turns some broken responses into a bare ExchangeError
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return Outcome.RATE_LIMITED
    if isinstance(exc, ccxt.InvalidNonce) and not isinstance(exc, ccxt.ChecksumError):
        return Outcome.CLOCK
    if isinstance(exc, ccxt.ExchangeError):
        return Outcome.REFUSED
    return Outcome.UNKNOWN


def _transport_failed(exc: BaseException) -> bool:
    """Whether the connection failed under ``exc`` (a cut or garbled response): the
    venue's answer, if it gave one, never arrived."""
    link: BaseException | None = exc
    for _ in range(8):
        if link is None:
            return False
        if isinstance(link, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
            return True
        link = link.__cause__ or link.__context__
    return False


_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (INSUFFICIENT_BALANCE, ("insufficient",)),
    (MIN_NOTIONAL, ("notional",)),
    (PRECISION, ("precision", "lot_size", "price_filter", "tick size", "step size")),
)


def refusal_reason(exc: BaseException) -> str:
    """``kind: the venue's message`` for a refusal, the kind from its class or words."""
    text = " ".join(str(exc).split())[:400]
    lowered = text.lower()
    if isinstance(exc, ccxt.InsufficientFunds):
        return f"{INSUFFICIENT_BALANCE}: {text}"
    if isinstance(exc, ccxt.AuthenticationError):
        return f"{AUTHENTICATION}: {text}"
    for kind, words in _PATTERNS:
        if any(word in lowered for word in words):
            return f"{kind}: {text}"
    return f"{VENUE_REJECTED}: {text}"
