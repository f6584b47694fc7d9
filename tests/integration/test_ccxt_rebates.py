"""A maker rebate through real ccxt.pro against the OKX simulator: the venue pays
a negative fee on maker fills (OKX's wire: a positive ``fillFee``), the journal
carries it as a negative commission in the asset it was paid in, and the books
(the domain's, and the journal's recomputation) equal the venue's balances.

The rebates reach the gateway by both of ccxt's paths, which sign OKX's fees
differently: the private websocket (``orders`` channel) and, while that stream
is down, REST (``trade/fills``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from livecore.domain.books import Books
from livecore.gateway.journal_books import recompute_books
from livecore.testing.venue_gateway import VenueGatewayHarness, sim_settings, venue_fills
from livecore.venues.sim.model import CommissionSettings
from livecore.venues.sim.server import VenueSimServer
from livecore.wire.messages import FeedbackStatus, OrderFeedback, Side

BTC = "BTC/USDT"
START = {"BTC": D(1), "USDT": D(100_000)}
REBATE = CommissionSettings(taker=D("0.001"), maker=D("-0.0002"))  # the venue pays 2 bps to makers


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[VenueGatewayHarness]:
    with VenueSimServer(sim_settings(venue="okx", balances=dict(START), commission=REBATE)) as server:
        h = VenueGatewayHarness(tmp_path, server)
        try:
            yield h
        finally:
            h.close()


def journal(h: VenueGatewayHarness) -> tuple[list, list[OrderFeedback]]:
    return [o.order for o in h.store.journal.orders()], [e.feedback for e in h.store.journal.feedback()]


def venue_delta(h: VenueGatewayHarness) -> dict[str, D]:
    now = {asset: held.free + held.locked for asset, held in h.sim.venue.balances().items()}
    return {a: now.get(a, D(0)) - START.get(a, D(0)) for a in set(now) | set(START) if now.get(a) != START.get(a)}


def books_delta(books: Books) -> dict[str, D]:
    """What the portfolio's books moved by, per asset (cash in the quote, positions in their base)."""
    delta = {"USDT": books.cash + books.reserved} if books.cash + books.reserved else {}
    for symbol, position in books.positions.items():
        if position.quantity:
            delta[symbol.split("/")[0]] = position.quantity
    return delta


def test_a_maker_rebate_is_booked_as_the_venue_paid_it(harness: VenueGatewayHarness) -> None:
    broker = harness.start()
    taker = harness.order(Side.BUY, "0.01")  # a market buy: a charge, in the bought BTC
    charged = harness.wait_for(taker, FeedbackStatus.FILLED)[-1]
    assert (charged.commission, charged.commission_asset) == (D("0.00001"), "BTC")

    maker_buy = harness.order(Side.BUY, "0.02", "49000")
    harness.wait_for(maker_buy, FeedbackStatus.ACCEPTED)
    harness.sim.venue.set_price(BTC, "48900")  # crosses the resting buy: it fills as a maker
    paid = harness.wait_for(maker_buy, FeedbackStatus.FILLED)[-1]  # from the private websocket
    assert (paid.commission, paid.commission_asset) == (D("-0.000004"), "BTC")  # 2 bps of 0.02 BTC, paid to us

    maker_sell = harness.order(Side.SELL, "0.03", "51000")
    harness.wait_for(maker_sell, FeedbackStatus.ACCEPTED)
    harness.sim.venue.faults.drop_private_stream(after=0)  # the rebate reaches the gateway over REST
    harness.sim.venue.set_price(BTC, "51100")
    paid_in_quote = harness.wait_for(maker_sell, FeedbackStatus.FILLED)[-1]
    assert (paid_in_quote.commission, paid_in_quote.commission_asset) == (D("-0.306"), "USDT")  # 2 bps of 1,530
    assert broker.stats.stream_drops >= 1

    harness.wait(lambda: harness.journal_fills() == venue_fills(harness.sim), "the journal's fills equal the venue's")
    orders, feedback = journal(harness)
    books = Books.opening(D(0))
    for fb in feedback:
        if fb.fill_id:
            assert fb.fill_qty is not None and fb.fill_price is not None and fb.side is not None
            books.book_fill(BTC, fb.side, fb.fill_qty, fb.fill_price, fb.commission, fb.commission_asset)
    expected = {"BTC": D("0.01") - D("0.00001") + D("0.02") + D("0.000004") - D("0.03"), "USDT": D("-500") - D(980)}
    expected["USDT"] += D(1530) + D("0.306")
    assert venue_delta(harness) == expected
    assert books_delta(books) == expected  # the domain's books equal the venue's balances
    recomputed = recompute_books(orders, feedback, D(0), "pf")
    assert recomputed.cash == expected["USDT"] and recomputed.positions.get(BTC, D(0)) == expected["BTC"]
    # commissions went down by the rebates' value: 0.5 USDT charged, 0.196 (0.000004 BTC at 49,000) and 0.306 paid
    assert books.commissions == recomputed.commissions == D("0.5") - D("0.196") - D("0.306")
    assert books.identity_gap() == 0
