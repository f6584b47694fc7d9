"""The trade gateway on a venue through real ccxt.pro, against the Binance
simulator: every outcome journaled equals what the venue itself recorded.

Scenarios: a fill; partial fills; rejections (insufficient balance, minimum
notional, bad precision) with their reasons; a cancel; a response lost after
the venue executed (no second order, the fill arrives); the private websocket
dropping between fills (every fill recovered); a clock the venue refuses
(a clear error, re-synchronised, the order goes through); rate-limit answers
(waited out for the venue's Retry-After, else a doubling pause; a ban too long
to wait rejects the order). The gateway's kill -9 and restart is in ``test_ccxt_restart.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from livecore.control.halt import ClusterHalt, write_halt
from livecore.gateway.halt import CLUSTER_HALT_CANCEL
from livecore.testing.venue_gateway import LostBeforeTheVenue, VenueGatewayHarness, sim_settings, venue_fills
from livecore.venues.ccxt.ids import venue_client_id
from livecore.venues.ccxt.profiles import PROFILES
from livecore.venues.sim.model import CommissionSettings
from livecore.venues.sim.model import OrderType as SimOrderType
from livecore.venues.sim.model import Side as SimSide
from livecore.venues.sim.server import VenueSimServer
from livecore.wire.messages import FeedbackStatus, NewOrder, Side

ACC, REJ, PART, FILL, CXL = (
    FeedbackStatus.ACCEPTED,
    FeedbackStatus.REJECTED,
    FeedbackStatus.PARTIALLY_FILLED,
    FeedbackStatus.FILLED,
    FeedbackStatus.CANCELLED,
)
BTC = "BTC/USDT"


# the venue request a placement is (a fault armed on it hits the placement only)
PLACEMENT = {"binance": "POST /api/v3/order", "okx": "POST /api/v5/trade/"}


@pytest.fixture(params=["binance", "okx"])
def sim(request: pytest.FixtureRequest) -> Iterator[VenueSimServer]:
    with VenueSimServer(sim_settings(venue=request.param)) as server:
        yield server


@pytest.fixture
def harness(tmp_path: Path, sim: VenueSimServer) -> Iterator[VenueGatewayHarness]:
    h = VenueGatewayHarness(tmp_path, sim)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def binance(tmp_path: Path) -> Iterator[VenueGatewayHarness]:
    """Binance alone: its minimum notional and its error messages."""
    with VenueSimServer(sim_settings()) as server:
        h = VenueGatewayHarness(tmp_path, server)
        try:
            yield h
        finally:
            h.close()


def placement(h: VenueGatewayHarness) -> str:
    return PLACEMENT[h.sim.venue.settings.venue]


def venue_id(h: VenueGatewayHarness, order: NewOrder) -> str:
    return venue_client_id(order.client_order_id, PROFILES[h.sim.venue.settings.venue].ids)


def assert_journal_is_the_venue(h: VenueGatewayHarness) -> None:
    """Every venue fill journaled once, with its quantity, price and commission."""
    h.wait(lambda: h.journal_fills() == venue_fills(h.sim), "the journal's fills equal the venue's")


def test_a_market_order_fills_with_its_commission_in_the_bought_asset(harness: VenueGatewayHarness) -> None:
    harness.start()
    order = harness.order(Side.BUY, "0.01")
    outcomes = harness.wait_for(order, FILL)
    assert [fb.status for fb in outcomes] == [ACC, FILL]
    fill = outcomes[-1]
    assert (fill.fill_qty, fill.fill_price) == (D("0.01"), D(50_000))
    assert (fill.commission, fill.commission_asset) == (D("0.00001"), "BTC")
    assert (
        fill.venue_order_id
        and fill.fill_id
        and fill.fill_id.startswith(f"{harness.sim.venue.settings.venue}:BTC/USDT:")
    )
    [venue_order] = harness.sim.venue.orders()
    assert venue_order.client_id == venue_id(harness, order)  # livecore's own id on Binance, digested on OKX
    assert_journal_is_the_venue(harness)


def test_partial_fills_then_filled(harness: VenueGatewayHarness) -> None:
    harness.start()
    order = harness.order(Side.BUY, "0.03", "49000")
    harness.wait_for(order, ACC)
    for _ in range(3):
        harness.sim.venue.trade(BTC, "49000", "0.01")
    outcomes = harness.wait_for(order, FILL)
    assert [fb.status for fb in outcomes] == [ACC, PART, PART, FILL]
    assert [fb.cumulative_qty for fb in outcomes[1:]] == [D("0.01"), D("0.02"), D("0.03")]
    assert_journal_is_the_venue(harness)


def test_rejections_carry_their_reason(binance: VenueGatewayHarness) -> None:
    harness = binance
    harness.start()
    harness.tick(BTC, "50000")
    harness.wait(lambda: harness.broker is not None and "BTC/USDT" in harness.broker._prices, "a price seen")
    broke = harness.order(Side.BUY, "10")  # 500,000 USDT: more than the account holds
    tiny = harness.order(Side.BUY, "0.00005")  # 2.5 USDT: below the 5 USDT minimum notional
    odd = harness.order(Side.BUY, "0.000015")  # off the 0.00001 step
    cheap = harness.order(Side.BUY, "0.0001", "10")  # 0.001 USDT at the limit: the minimum again
    for order, reason in [
        (broke, "insufficient_balance"),
        (tiny, "min_notional"),
        (odd, "precision"),
        (cheap, "min_notional"),
    ]:
        [rejected] = harness.wait_for(order, REJ)
        assert rejected.reason is not None and rejected.reason.startswith(reason), rejected.reason
    assert len(harness.sim.venue.orders()) == 0  # the local checks sent nothing; the venue refused the first


def test_the_venue_judges_what_it_alone_can(binance: VenueGatewayHarness) -> None:
    """No price seen: a market order's notional is the venue's to refuse."""
    harness = binance
    harness.start()
    tiny = harness.order(Side.BUY, "0.00005")
    [rejected] = harness.wait_for(tiny, REJ)
    assert rejected.reason is not None and rejected.reason.startswith("min_notional"), rejected.reason


def test_cancel(harness: VenueGatewayHarness) -> None:
    harness.start()
    order = harness.order(Side.BUY, "0.02", "40000")
    harness.wait_for(order, ACC)
    harness.sim.venue.trade(BTC, "40000", "0.005")  # part fills before the cancel
    harness.wait_for(order, PART)
    harness.cancel(order)
    outcomes = harness.wait_for(order, CXL)
    assert [fb.status for fb in outcomes] == [ACC, PART, CXL]
    assert outcomes[-1].reason == "cancel_requested" and outcomes[-1].cumulative_qty == D("0.005")
    assert harness.sim.venue.open_orders() == []
    assert_journal_is_the_venue(harness)


def test_a_lost_response_is_looked_up_never_sent_twice(harness: VenueGatewayHarness) -> None:
    broker = harness.start()
    harness.sim.venue.faults.lose_responses(1, match=placement(harness))
    order = harness.order(Side.BUY, "0.01")
    outcomes = harness.wait_for(order, FILL)
    assert [fb.status for fb in outcomes] == [ACC, FILL]
    assert len(harness.sim.venue.orders()) == 1  # executed once, answered never, not sent again
    assert broker.stats.unknown_outcomes == 1
    assert_journal_is_the_venue(harness)


def test_a_late_response_is_looked_up_too(harness: VenueGatewayHarness) -> None:
    broker = harness.start(request_timeout_s=0.5)
    harness.sim.venue.faults.delay_responses(2.0, match=placement(harness))
    order = harness.order(Side.SELL, "0.01")
    harness.wait_for(order, FILL)  # the private stream told before the answer came
    harness.wait(lambda: broker.stats.unknown_outcomes == 1, "the timed-out placement taken as unknown")
    harness.wait(lambda: broker.open_orders() == [], "the lookup settled it")
    assert len(harness.sim.venue.orders()) == 1
    assert harness.statuses(order) == [ACC, FILL]
    assert_journal_is_the_venue(harness)


def test_an_order_the_venue_never_received_is_rejected_not_resent(harness: VenueGatewayHarness) -> None:
    """Lost before the venue: looked up until it cannot arrive any more, then rejected."""
    broker = harness.start(wrap=LostBeforeTheVenue, not_received_after_s=1.0)
    order = harness.order(Side.BUY, "0.01", "40000")
    [rejected] = harness.wait_for(order, REJ)
    assert rejected.reason is not None and rejected.reason.startswith("not_received"), rejected.reason
    assert broker.stats.unknown_outcomes == 1 and broker.stats.not_received == 1
    assert harness.sim.venue.orders() == []  # and nothing was sent in its place


def test_fills_during_a_private_stream_drop_are_all_recovered(harness: VenueGatewayHarness) -> None:
    broker = harness.start()
    order = harness.order(Side.BUY, "0.05", "49000")
    harness.wait_for(order, ACC)
    harness.sim.venue.faults.drop_private_stream(after=1)
    for _ in range(5):
        harness.sim.venue.trade(BTC, "49000", "0.01")
    outcomes = harness.wait_for(order, FILL)
    fills = [fb for fb in outcomes if fb.fill_id]
    assert len(fills) == 5 and len({fb.fill_id for fb in fills}) == 5
    assert sum(fb.fill_qty or 0 for fb in fills) == D("0.05")
    assert broker.stats.stream_drops >= 1
    assert_journal_is_the_venue(harness)


def test_a_refused_clock_is_said_clearly_and_recovered(
    harness: VenueGatewayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    broker = harness.start()
    harness.sim.venue.faults.set_clock_skew(60_000)  # the venue is a minute ahead: our timestamps are too old
    order = harness.order(Side.BUY, "0.01")
    harness.wait_for(order, FILL)
    assert broker.stats.clock_resyncs == 1
    assert "this machine's clock is off" in caplog.text
    later = harness.order(Side.SELL, "0.01")  # signed with the venue's time from now on
    harness.wait_for(later, FILL)
    assert broker.stats.clock_resyncs == 1
    assert_journal_is_the_venue(harness)


class FakeTime:
    """The broker's clock and sleep: a sleep moves the clock and returns at once,
    so a wait is recorded exactly and costs no wall time."""

    def __init__(self) -> None:
        self.ns = time.time_ns()
        self.slept: list[float] = []

    def now_ns(self) -> int:
        return self.ns

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ns += int(seconds * 1e9)
        await asyncio.sleep(0)


def test_rate_limit_answers_are_waited_out(harness: VenueGatewayHarness) -> None:
    """Binance's 429 carries Retry-After: waited for exactly that (longer than the
    broker's own 0.1 s); OKX's 50011 carries none: the broker's doubling pause."""
    fake = FakeTime()
    broker = harness.start(clock=fake.now_ns, sleep=fake.sleep)
    harness.sim.venue.faults.rate_limit(2, retry_after_s=3, match=placement(harness))
    order = harness.order(Side.BUY, "0.01")
    harness.wait_for(order, FILL)
    assert broker.stats.rate_limited == 2 and len(harness.sim.venue.orders()) == 1
    binance = harness.sim.venue.settings.venue == "binance"
    assert fake.slept == ([3.0, 3.0] if binance else [0.1, 0.2])


def test_a_ban_longer_than_an_order_can_wait_rejects_it(binance: VenueGatewayHarness) -> None:
    """Binance's 418 (IP banned) with a Retry-After beyond ``rate_limit_max_wait_s``:
    the order is rejected at once, never sent again later, and so is any order
    until the ban is over."""
    fake = FakeTime()
    binance.start(clock=fake.now_ns, sleep=fake.sleep, rate_limit_max_wait_s=60)
    binance.sim.venue.faults.rate_limit(1, retry_after_s=600, banned=True, match=PLACEMENT["binance"])
    order = binance.order(Side.BUY, "0.01")
    [rejected] = binance.wait_for(order, REJ)
    assert rejected.reason == "rate_limited: the venue asks for 600s of quiet"
    during = binance.order(Side.BUY, "0.01")  # every placement is held off until the ban is over
    [refused] = binance.wait_for(during, REJ)
    assert refused.reason == "rate_limited: the venue asks for quiet for another 600s"
    assert fake.slept == [] and binance.sim.venue.orders() == []
    fake.ns += 600 * 10**9
    after = binance.order(Side.BUY, "0.01")
    binance.wait_for(after, FILL)
    assert fake.slept == [] and len(binance.sim.venue.orders()) == 1


def test_fees_in_a_third_asset_are_journaled_in_it(sim: VenueSimServer, harness: VenueGatewayHarness) -> None:
    sim.venue.set_balance("BNB", "10")
    sim.venue.set_commission(CommissionSettings(asset="BNB", asset_price=D(500)))
    harness.start()
    order = harness.order(Side.BUY, "0.01")
    fill = harness.wait_for(order, FILL)[-1]
    assert fill.commission_asset == "BNB" and fill.commission == D("0.001")  # 0.5 USDT at 500
    assert_journal_is_the_venue(harness)


# --- a gateway that died between journaling an order and hearing from the venue ----------


def test_an_order_journaled_but_never_sent_is_sent_once_after_a_restart(harness: VenueGatewayHarness) -> None:
    """The venue is asked first; only once the order could no longer arrive is it sent."""
    order = harness.new_order(Side.BUY, "0.01")
    assert harness.store.journal.record_order(order, time.time_ns())  # the crash came before the send
    harness.start(not_received_after_s=1.0)
    outcomes = harness.wait_for(order, FILL)
    assert [fb.status for fb in outcomes] == [ACC, FILL]
    assert len(harness.sim.venue.orders()) == 1
    assert_journal_is_the_venue(harness)


def test_an_order_the_venue_has_but_the_journal_never_answered_is_followed(harness: VenueGatewayHarness) -> None:
    """The crash came after the send: the venue's order is found by client id, never sent again."""
    order = harness.new_order(Side.BUY, "0.01")
    assert harness.store.journal.record_order(order, time.time_ns())
    harness.sim.venue.place(
        symbol=BTC, side=SimSide.BUY, type=SimOrderType.MARKET, qty=D("0.01"), client_id=venue_id(harness, order)
    )
    broker = harness.start()
    assert broker.wait_caught_up(20.0)  # the catch-up at start read the venue's trades
    outcomes = harness.wait_for(order, FILL)
    assert [fb.status for fb in outcomes] == [ACC, FILL]
    assert len(harness.sim.venue.orders()) == 1
    assert_journal_is_the_venue(harness)


def test_okx_refuses_what_its_account_and_rules_cannot_take(tmp_path: Path) -> None:
    with VenueSimServer(sim_settings(venue="okx")) as server:
        harness = VenueGatewayHarness(tmp_path, server)
        try:
            harness.start()
            broke = harness.order(Side.BUY, "2.5", "50000")  # 125,000 USDT: more than the account holds
            small = harness.order(Side.BUY, "0.000001", "50000")  # below the minimum size, off the step
            for order, reason in [(broke, "insufficient_balance"), (small, "precision")]:
                [rejected] = harness.wait_for(order, REJ)
                assert rejected.reason is not None and rejected.reason.startswith(reason), rejected.reason
        finally:
            harness.close()


def test_the_cluster_halt_cancels_resting_venue_orders(harness: VenueGatewayHarness) -> None:
    harness.start()
    resting = harness.order(Side.BUY, "0.02", "40000")
    harness.wait_for(resting, ACC)
    write_halt(harness.coord, ClusterHalt(reason="test", since_ns=time.time_ns(), by="operator"))
    cancelled = harness.wait_for(resting, CXL)[-1]
    assert cancelled.reason == CLUSTER_HALT_CANCEL
    assert harness.sim.venue.open_orders() == []
