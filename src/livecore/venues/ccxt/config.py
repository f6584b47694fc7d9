"""Every setting of the ccxt broker in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecore.checks import at_least, positive, require
from livecore.venues.ccxt.caps import VenueCaps
from livecore.venues.ccxt.profiles import PROFILES


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """``venue``: a profile name (``binance``, ``okx``). Exactly one of ``sandbox``
    (the venue's testnet) and ``live`` (real money) must be chosen: nothing runs
    against a venue by default. ``venue_url`` replaces the venue's host (the
    simulator). ``not_received_after_s``: how long after it was sent an order
    the venue does not know counts as never received (default: the venue's
    receive window plus ``clock_margin_s``)."""

    venue: str
    sandbox: bool = False
    live: bool = False
    venue_url: str | None = None
    caps: VenueCaps = field(default_factory=VenueCaps)
    request_timeout_s: float = 10.0
    call_timeout_s: float = 30.0  # how long a gateway thread waits for a venue answer it must have
    reconcile_interval_s: float = 30.0
    snapshot_interval_s: float = 10.0
    lookup_backoff_s: float = 0.5
    lookup_max_backoff_s: float = 5.0
    not_received_after_s: float | None = None
    clock_margin_s: float = 2.0
    rate_limit_retries: int = 6
    rate_limit_backoff_s: float = 1.0
    rate_limit_max_wait_s: float = 120.0  # a longer Retry-After rejects the order rather than wait
    stream_backoff_s: float = 0.5
    stream_max_backoff_s: float = 30.0
    trades_lookback_s: float = 86_400.0  # how far back trades are read when the journal has none

    def __post_init__(self) -> None:
        require(self.venue in PROFILES, self, "venue", f"must be one of {', '.join(sorted(PROFILES))}")
        require(self.sandbox != self.live, self, "live", "choose exactly one of sandbox (testnet) and live")
        positive(
            self,
            "request_timeout_s",
            "call_timeout_s",
            "reconcile_interval_s",
            "snapshot_interval_s",
            "lookup_backoff_s",
            "lookup_max_backoff_s",
            "rate_limit_backoff_s",
            "rate_limit_max_wait_s",
            "stream_backoff_s",
            "stream_max_backoff_s",
            "trades_lookback_s",
        )
        at_least(self, 0, "rate_limit_retries")
        after = self.not_received_after_s
        require(after is None or after > 0, self, "not_received_after_s", "must be > 0 (or None)")

    @property
    def not_received_s(self) -> float:
        if self.not_received_after_s is not None:
            return self.not_received_after_s
        return PROFILES[self.venue].recv_window_ms / 1000 + self.clock_margin_s
