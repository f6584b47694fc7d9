"""What differs between the venues livecore trades through ccxt, in one table,
and how a ccxt.pro client is built for one of them.

Each profile names the client id scheme (``ids.py``), the ccxt options that
keep a client on spot and off endpoints it does not need, whether the venue
wants an API password, and how long after its timestamp a signed request can
still be executed (Binance refuses one older than ``recvWindow``; an order
the venue does not know once that long has passed since it was sent can
never appear: it was not received).

``venue_url`` (a rehearsal on ``livecore venue-sim``) replaces the scheme,
host and port of every URL of the client, keeping the venue's paths, so a call
the replacement does not serve fails there and never reaches the real venue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt.pro

from livecore.errors import ConfigError
from livecore.venues.ccxt.backoff import capture_headers
from livecore.venues.ccxt.credentials import Credentials
from livecore.venues.ccxt.ids import BINANCE_IDS, OKX_IDS, ClientIdScheme

PREFIX = "ccxt:"


@dataclass(frozen=True, slots=True)
class VenueProfile:
    name: str
    ids: ClientIdScheme
    options: Mapping[str, Any] = field(default_factory=dict)
    has: Mapping[str, bool] = field(default_factory=dict)  # ccxt capabilities turned off (calls not needed)
    needs_password: bool = False
    recv_window_ms: int = 10_000
    merge_spot_errors: bool = False  # ccxt picks Binance's spot-only error table by the real host


PROFILES: dict[str, VenueProfile] = {
    "binance": VenueProfile(
        name="binance",
        ids=BINANCE_IDS,
        options={
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchOpenOrders": {"warnWithoutSymbol": False},
            "recvWindow": 10_000,
        },
        recv_window_ms=10_000,
        merge_spot_errors=True,
    ),
    "okx": VenueProfile(
        name="okx",
        ids=OKX_IDS,
        options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        has={"fetchCurrencies": False},  # load_markets would read asset/currencies too
        needs_password=True,
        recv_window_ms=10_000,
    ),
}


def parse_venue(text: str) -> VenueProfile:
    """``ccxt:binance`` -> its profile; anything else is a ConfigError naming the choices."""
    name = text[len(PREFIX) :] if text.startswith(PREFIX) else ""
    profile = PROFILES.get(name)
    if profile is None:
        choices = ", ".join(PREFIX + n for n in sorted(PROFILES))
        raise ConfigError(f"unknown venue {text!r}: choose paper or one of {choices}")
    return profile


_ORIGIN = re.compile(r"^(https?|wss?)://[^/]+")


def rebase_urls(urls: Any, base: str) -> Any:
    """``urls`` (ccxt's nested table) with each URL's origin replaced by ``base``'s
    (``http(s)://host:port``; websocket URLs get ``ws(s)://``)."""
    match = re.fullmatch(r"(https?)://([^/]+)/?", base)
    if match is None:
        raise ConfigError(f"venue URL must be http(s)://host[:port], got {base!r}")
    return _rebase(urls, match.group(1) == "https", match.group(2))


def _rebase(urls: Any, secure: bool, host: str) -> Any:
    if isinstance(urls, dict):
        return {key: _rebase(value, secure, host) for key, value in urls.items()}
    found = _ORIGIN.match(urls) if isinstance(urls, str) else None
    if found is None:
        return urls
    websocket = found.group(1).startswith("ws")
    scheme = ("wss" if secure else "ws") if websocket else ("https" if secure else "http")
    return f"{scheme}://{host}{urls[found.end() :]}"


def build_client(
    profile: VenueProfile,
    credentials: Credentials | None,
    *,
    sandbox: bool,
    venue_url: str | None = None,
    timeout_ms: int = 10_000,
) -> Any:
    """A ccxt.pro client (REST and websockets) with ccxt's rate limiter on."""
    cls = getattr(ccxt.pro, profile.name)
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms, "options": dict(profile.options)}
    if profile.has:
        config["has"] = dict(profile.has)
    if credentials is not None:
        config |= {"apiKey": credentials.key, "secret": credentials.secret}
        if credentials.password:
            config["password"] = credentials.password
    client = cls(config)
    capture_headers(client)  # a rate-limit answer's Retry-After (backoff.py)
    if venue_url is not None:
        client.urls["api"] = rebase_urls(client.urls["api"], venue_url)
    elif sandbox:
        client.set_sandbox_mode(True)
    if profile.merge_spot_errors:
        spot = client.exceptions.get("spot", {})
        client.exceptions = {
            **client.exceptions,
            "exact": {**client.exceptions["exact"], **spot.get("exact", {})},
            "broad": {**client.exceptions["broad"], **spot.get("broad", {})},
        }
    return client
