"""The wait after a venue's rate-limit answer: its Retry-After when given, the
broker's doubling pause otherwise, and a refusal for a wait too long to hold an
order for."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import ccxt

from livecore.venues.ccxt.backoff import RateGate, RateLimitBackoff, capture_headers, responses, retry_after_s

NOW = 1_700_000_000.0


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_s({"Retry-After": "7"}, NOW) == 7.0
    assert retry_after_s({"retry-after": " 0.5 "}, NOW) == 0.5
    date = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert retry_after_s({"Retry-After": date}, NOW) == 30.0
    assert retry_after_s({"Retry-After": date}, NOW + 60) == 0.0  # already past: no wait
    assert retry_after_s({}, NOW) is None
    assert retry_after_s({"Retry-After": "soon"}, NOW) is None
    assert retry_after_s({"Retry-After": "nan"}, NOW) is None


def test_the_venue_s_wait_wins_else_the_pause_doubles() -> None:
    backoff = RateLimitBackoff(base_s=0.5, max_wait_s=60)
    assert [backoff.pause(n, None) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff.pause(1, 3.0) == 3.0  # longer than ours: the venue's
    assert backoff.pause(4, 0.25) == 0.25  # the venue says when it takes requests again
    assert backoff.pause(1, 61.0) is None  # a ban longer than an order can wait


def test_the_gate_holds_every_placement_until_the_latest_wait() -> None:
    gate, now_ns, second = RateGate(), int(NOW) * 10**9, 10**9
    assert gate.remaining(now_ns) == 0
    gate.hold(now_ns, 5)
    gate.hold(now_ns, 0.1)  # a shorter wait never shortens a longer one
    assert gate.remaining(now_ns + second) == 4.0
    assert gate.remaining(now_ns + 9 * second) == 0
    gate.hold(now_ns + 9 * second, 0.1)
    assert gate.remaining(now_ns + 9 * second) == 0.1


def test_headers_reach_the_task_that_made_the_request() -> None:
    client = ccxt.binance()
    capture_headers(client)
    with responses() as seen:
        client.on_rest_response(429, "", "u", "POST", {"Retry-After": "9"}, " {} ", {}, "")
    assert seen == {"Retry-After": "9"}
    client.on_rest_response(200, "", "u", "GET", {"Retry-After": "1"}, "{}", {}, "")  # nobody listening
    assert seen == {"Retry-After": "9"}
