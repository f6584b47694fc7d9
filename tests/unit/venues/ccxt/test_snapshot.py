"""The venue's balances beside the books: the unmanaged baseline, a portfolio
deployed later funded from it, a difference that moves flagged."""

from __future__ import annotations

from decimal import Decimal as D

from livecore.venues.ccxt.snapshot import Baseline, book_assets, compare, unmanaged


def test_books_per_asset_take_positions_in_their_base_and_third_asset_fees_off() -> None:
    books = book_assets(
        [
            ("USDT", D(9_500), {"BTC/USDT": D("0.00999")}, {}),
            ("USDT", D(1_000), {"ETH/USDT": D("0.1")}, {"BNB": D("0.01")}),
        ]
    )
    assert books == {"USDT": D(10_500), "BTC": D("0.00999"), "ETH": D("0.1"), "BNB": D("-0.01")}


def test_a_mismatch_is_a_difference_off_the_baseline() -> None:
    books = {"USDT": D(10_000), "BTC": D(0)}
    venue = {"USDT": D(100_000), "BTC": D(1)}
    baseline = Baseline(unmanaged=unmanaged(venue, books), funded={"a": ("USDT", D(10_000))})
    # a trade: the venue and the books move together
    venue2 = {"USDT": D(99_500), "BTC": D("1.00999")}
    books2 = {"USDT": D(9_500), "BTC": D("0.00999")}
    lines = compare(venue2, books2, baseline.expected({"a": ("USDT", D(10_000))}))
    assert not any(line.mismatch for line in lines)
    # a fill the books lack
    lines = compare(venue2, books, baseline.expected({"a": ("USDT", D(10_000))}))
    assert {line.asset for line in lines if line.mismatch} == {"USDT", "BTC"}


def test_a_portfolio_deployed_later_is_funded_from_the_unmanaged_amount() -> None:
    venue = {"USDT": D(100_000)}
    baseline = Baseline(unmanaged=unmanaged(venue, {"USDT": D(10_000)}), funded={"a": ("USDT", D(10_000))})
    funded_now = {"a": ("USDT", D(10_000)), "b": ("USDT", D(5_000))}
    lines = compare(venue, {"USDT": D(15_000)}, baseline.expected(funded_now))
    assert [(line.asset, line.unmanaged, line.mismatch) for line in lines] == [("USDT", D(85_000), False)]
