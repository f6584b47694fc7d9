"""Commissions in the quote, the bought asset or a third asset: the books still
equal what a venue's balances say, and the journal's recomputation agrees."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.domain import Signal
from livecore.domain.books import Books
from livecore.domain.fees import FeeKind, fee_kind, quote_value, split_symbol
from livecore.gateway.journal_books import recompute_books
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side
from tests.unit.domain.helpers import new_orders, scripted, scripted_spec, tick


def test_fee_kind_by_asset() -> None:
    assert split_symbol("BTC/USDT") == ("BTC", "USDT")
    assert split_symbol("BTC/USDT:USDT") == ("BTC", "USDT")
    assert split_symbol("AAPL") is None
    assert fee_kind("BTC/USDT", "") is FeeKind.QUOTE
    assert fee_kind("BTC/USDT", "USDT") is FeeKind.QUOTE
    assert fee_kind("BTC/USDT", "BTC") is FeeKind.BASE
    assert fee_kind("BTC/USDT", "BNB") is FeeKind.OTHER
    assert fee_kind("AAPL", "") is FeeKind.QUOTE
    assert fee_kind("AAPL", "AAPL") is FeeKind.BASE
    assert quote_value("BTC/USDT", D(20000), D("0.001"), "BTC") == D(20)
    assert quote_value("BTC/USDT", D(20000), D("0.5"), "BNB") == 0


def test_a_fee_in_the_bought_asset_shrinks_the_position_not_the_cash() -> None:
    books = Books.opening(D(10_000))
    books.book_fill("BTC/USDT", Side.BUY, D("0.1"), D(20_000), D("0.0001"), "BTC")
    assert books.cash == D(8_000)
    assert books.position_qty("BTC/USDT") == D("0.0999")
    assert books.commissions == D(2)  # 0.0001 BTC at the fill price
    assert books.realized_pnl == 0
    assert books.identity_gap() == 0


def test_a_fee_in_a_third_asset_is_booked_in_that_asset() -> None:
    books = Books.opening(D(10_000))
    books.book_fill("BTC/USDT", Side.BUY, D("0.1"), D(20_000), D("0.0075"), "BNB")
    books.book_fill("BTC/USDT", Side.SELL, D("0.1"), D(21_000), D("0.0080"), "BNB")
    assert books.cash == D(10_100)
    assert books.positions == {}
    assert books.commissions == 0
    assert books.asset_fees == {"BNB": D("0.0155")}
    assert books.identity_gap() == 0


def test_a_rebate_credits_where_a_charge_debits() -> None:
    """A maker rebate (a negative commission) credits the quote, the bought asset
    or a third asset, and ``commissions`` goes down by its value."""
    books = Books.opening(D(10_000))
    books.book_fill("BTC/USDT", Side.BUY, D("0.1"), D(20_000), D("-0.2"), "USDT")
    assert (books.cash, books.commissions) == (D("8000.2"), D("-0.2"))
    books.book_fill("BTC/USDT", Side.BUY, D("0.1"), D(20_000), D("-0.00001"), "BTC")
    assert books.cash == D("6000.2")
    assert books.position_qty("BTC/USDT") == D("0.20001")  # the venue paid 0.00001 BTC
    assert books.commissions == D("-0.4")  # 0.2 USDT + 0.00001 BTC at the fill price
    books.book_fill("BTC/USDT", Side.SELL, D("0.1"), D(20_000), D("-0.001"), "BNB")
    assert books.asset_fees == {"BNB": D("-0.001")}  # holdings of BNB went up
    assert books.realized_pnl == 0
    assert books.identity_gap() == 0


# --- books == venue balances == journal recomputation -------------------------

SYMBOLS = ("BTC/USDT", "ETH/USDT")
ASSETS = ("", "USDT", "BTC", "ETH", "BNB")
qty = st.decimals(min_value=D("0.001"), max_value=D(2), places=3)
price = st.decimals(min_value=D(1), max_value=D(30_000), places=2)
fee = st.decimals(min_value=D("-0.0009"), max_value=D("0.0009"), places=6)  # negative: a rebate
fills = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(list(Side)), qty, price, fee, st.sampled_from(ASSETS)),
    max_size=30,
)


def _venue_delta(trades: list[tuple[str, Side, D, D, D, str]]) -> dict[str, D]:
    """What a venue's balances move by: the trades and each fee where it was charged."""
    delta: dict[str, D] = {}
    for symbol, side, q, p, f, asset in trades:
        base, quote = symbol.split("/")
        sign = 1 if side is Side.BUY else -1
        delta[base] = delta.get(base, D(0)) + sign * q
        delta[quote] = delta.get(quote, D(0)) - sign * q * p
        charged = asset or quote
        delta[charged] = delta.get(charged, D(0)) - f
    return {a: v for a, v in delta.items() if v}


def _books_delta(books: Books, initial: D) -> dict[str, D]:
    delta: dict[str, D] = {"USDT": books.cash + books.reserved - initial}
    for symbol, position in books.positions.items():
        base = symbol.split("/")[0]
        delta[base] = delta.get(base, D(0)) + position.quantity
    for asset, amount in books.asset_fees.items():
        delta[asset] = delta.get(asset, D(0)) - amount
    return {a: v for a, v in delta.items() if v}


@settings(max_examples=200, deadline=None)
@given(fills)
def test_books_equal_the_venue_and_the_journal(trades: list[tuple[str, Side, D, D, D, str]]) -> None:
    initial = D(1_000_000)
    books = Books.opening(initial)
    orders: list[NewOrder] = []
    feedback: list[OrderFeedback] = []
    for i, (symbol, side, q, p, f, asset) in enumerate(trades):
        books.book_fill(symbol, side, q, p, f, asset)
        coid = f"p-1-{i}"
        orders.append(
            NewOrder(
                client_order_id=coid,
                portfolio_id="p",
                epoch=1,
                node_id="n",
                symbol=symbol,
                side=side,
                quantity=q,
                created_ns=1,
            )
        )
        feedback.append(
            OrderFeedback(
                status=FeedbackStatus.FILLED,
                client_order_id=coid,
                portfolio_id="p",
                epoch=1,
                symbol=symbol,
                side=side,
                fill_id=f"{coid}-f1",
                fill_qty=q,
                fill_price=p,
                commission=f,
                commission_asset=asset,
            )
        )
        assert books.identity_gap() == 0
    assert _books_delta(books, initial) == _venue_delta(trades)
    journal = recompute_books(orders, feedback, initial, "p")
    assert journal.cash == books.cash + books.reserved
    held = {s: pos.quantity for s, pos in books.positions.items() if pos.quantity}
    assert {s: q for s, q in journal.positions.items() if q} == held
    assert journal.commissions == books.commissions
    assert {a: v for a, v in journal.asset_fees.items() if v} == {a: v for a, v in books.asset_fees.items() if v}


def test_a_position_off_the_lot_is_traded_in_whole_lots() -> None:
    """A buy whose fee the venue took in the bought asset leaves 0.000999; going flat
    sells the whole lots (0.00099) and leaves the dust, less than one lot."""
    p, strategy = scripted(scripted_spec(sizer='class = "fixed"\nparams = { quantity = 0.001, lot_size = 0.00001 }'))
    p.books.book_fill("AAPL", Side.BUY, D("0.001"), D(100), D("0.000001"), "AAPL")
    assert p.books.position_qty("AAPL") == D("0.000999")
    strategy.queue.append(Signal.target("AAPL", D(0)))
    p.on_market(tick(100, 1, "AAPL"))
    [order] = new_orders(p)
    assert (order.side, order.quantity) == (Side.SELL, D("0.00099"))


def test_dust_below_one_lot_is_no_position_for_a_long_signal() -> None:
    p, strategy = scripted(scripted_spec(sizer='class = "fixed"\nparams = { quantity = 0.001, lot_size = 0.00001 }'))
    p.books.book_fill("AAPL", Side.BUY, D("0.000008"), D(100), D(0), "")
    strategy.queue.append(Signal.long("AAPL"))
    p.on_market(tick(100, 1, "AAPL"))
    [order] = new_orders(p)
    assert (order.side, order.quantity) == (Side.BUY, D("0.00099"))  # up to the sized 0.001, in whole lots
