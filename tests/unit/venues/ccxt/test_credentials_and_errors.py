"""Credentials never show; ccxt's exceptions mean what the venue said."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import ccxt
import pytest

from livecore.errors import ConfigError
from livecore.venues.ccxt.credentials import load_credentials
from livecore.venues.ccxt.errors import Outcome, outcome_of, refusal_reason
from livecore.venues.ccxt.profiles import parse_venue, rebase_urls


def test_credentials_from_the_environment_are_masked() -> None:
    env = {"LIVECORE_VENUE_KEY": "abcdefghijkl", "LIVECORE_VENUE_SECRET": "s3cr3t-value"}
    creds = load_credentials(env, None, needs_password=False)
    assert creds.secret == "s3cr3t-value"
    assert "s3cr3t" not in repr(creds) and "abcdefghijkl" not in str(creds) and "abcd***" in repr(creds)
    with pytest.raises(ConfigError, match="password missing"):
        load_credentials(env, None, needs_password=True)
    with pytest.raises(ConfigError, match="key, secret missing"):
        load_credentials({}, None, needs_password=False)


def test_a_credentials_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text('key = "k-123456789"\nsecret = "never-shown"\npassword = "pw"\n')
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_credentials({}, path, needs_password=True)
    path.chmod(0o600)
    assert load_credentials({}, path, needs_password=True).password == "pw"
    path.write_text('key = "never-shown\n')
    with pytest.raises(ConfigError) as info:
        load_credentials({}, path, needs_password=False)
    assert "never-shown" not in str(info.value)


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (ccxt.InsufficientFunds("no money"), Outcome.REFUSED),
        (ccxt.InvalidOrder("Filter failure: NOTIONAL"), Outcome.REFUSED),
        (ccxt.AuthenticationError("bad key"), Outcome.REFUSED),
        (ccxt.RateLimitExceeded("429"), Outcome.RATE_LIMITED),
        (ccxt.DDoSProtection("418"), Outcome.RATE_LIMITED),
        (ccxt.InvalidNonce("-1021 Timestamp outside recvWindow"), Outcome.CLOCK),
        (ccxt.RequestTimeout("timed out"), Outcome.UNKNOWN),
        (ccxt.ExchangeNotAvailable("502"), Outcome.UNKNOWN),
        (ccxt.NetworkError("reset"), Outcome.UNKNOWN),
        (RuntimeError("anything else"), Outcome.UNKNOWN),
    ],
)
def test_what_each_exception_means(exc: Exception, outcome: Outcome) -> None:
    assert outcome_of(exc) is outcome


def test_a_response_cut_short_is_unknown_whatever_ccxt_calls_it() -> None:
    try:
        try:
            raise aiohttp.ClientPayloadError("Response payload is not completed")
        except aiohttp.ClientError as cause:
            raise ccxt.ExchangeError("binance POST http://127.0.0.1/api/v3/order") from cause
    except ccxt.ExchangeError as exc:
        assert outcome_of(exc) is Outcome.UNKNOWN


def test_refusal_reasons_name_the_rule() -> None:
    assert refusal_reason(ccxt.InsufficientFunds("x")).startswith("insufficient_balance: ")
    assert refusal_reason(ccxt.InvalidOrder("Account has insufficient balance")).startswith("insufficient_balance")
    assert refusal_reason(ccxt.InvalidOrder("Filter failure: NOTIONAL")).startswith("min_notional")
    assert refusal_reason(ccxt.InvalidOrder("Filter failure: LOT_SIZE")).startswith("precision")
    assert refusal_reason(ccxt.ExchangeError("something")).startswith("venue_rejected: something")


def test_venue_names_and_url_override() -> None:
    assert parse_venue("ccxt:okx").needs_password
    with pytest.raises(ConfigError, match="ccxt:binance, ccxt:okx"):
        parse_venue("ccxt:kraken")
    urls = {"rest": "https://{hostname}", "ws": {"spot": "wss://stream.x.com:9443/ws"}}
    assert rebase_urls(urls, "http://127.0.0.1:8080") == {
        "rest": "http://127.0.0.1:8080",
        "ws": {"spot": "ws://127.0.0.1:8080/ws"},
    }
    with pytest.raises(ConfigError):
        rebase_urls(urls, "ftp://x")
