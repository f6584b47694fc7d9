"""The read-only face of a portfolio's books that strategies, sizers and risk
rules see (``StrategyContext``, ``RiskContext``, ``SizingContext``)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from livecore.domain.books import ACCOUNTING, Books
from livecore.domain.order_book import OrderBook
from livecore.domain.risk import Proposal
from livecore.domain.strategy import Direction
from livecore.wire.messages import OrderType

ZERO = Decimal(0)
_LIMIT = OrderType.LIMIT  # an Enum class attribute read is slow on Python 3.11
_add, _multiply = ACCOUNTING.add, ACCOUNTING.multiply
_LONG, _SHORT = Direction.LONG, Direction.SHORT


def buy_reservation(
    quantity: Decimal, order_type: OrderType, limit_price: Decimal | None, price: Decimal, buffer: Decimal
) -> Decimal:
    """Cash a buy holds while open: at the limit price, or the last price plus a buffer
    (exact: the accounting context's methods)."""
    if order_type is _LIMIT and limit_price is not None:
        return _multiply(quantity, limit_price)
    return _multiply(_multiply(quantity, price), _add(1, buffer))


class AccountView:
    """Reads the books and open orders; changes nothing."""

    def __init__(
        self, books: Books, orders: OrderBook, allow_short: bool, reservation_buffer: Decimal, lot_size: Decimal
    ) -> None:
        self._books = books
        self._orders = orders
        self._allow_short = allow_short
        if not lot_size > ZERO:  # ``holds`` relies on it (the sizer's parameter is checked > 0 too)
            raise ValueError(f"lot_size must be > 0, got {lot_size}")
        self._lot_size = lot_size
        self.reservation_buffer = reservation_buffer
        # the symbol of the market event being handled and its price before that
        # event (None outside one); the portfolio sets both around each event
        self.event_symbol: str | None = None
        self.event_previous: Decimal | None = None
        # asked for every signal: the underlying lookups themselves, one call less each
        self.has_open_order: Callable[[str], bool] = orders.has_open
        self._open_by_symbol = orders.open_by_symbol  # a live view: ``holds`` asks it per price
        self.last_price: Callable[[str], Decimal | None] = books.last_prices.get

    @property
    def cash(self) -> Decimal:
        return self._books.cash

    @property
    def equity(self) -> Decimal:
        return self._books.equity()

    @property
    def daily_pnl(self) -> Decimal:
        return self._books.daily_pnl()

    @property
    def day_start_equity(self) -> Decimal:
        return self._books.day_start_equity

    @property
    def allow_short(self) -> bool:
        return self._allow_short

    def position(self, symbol: str) -> Decimal:
        position = self._books.positions.get(symbol)  # Books.position_qty, one call less per event
        return position.quantity if position is not None else ZERO

    def holds(self, symbol: str, direction: Direction) -> bool:
        """Whether a level signal in ``direction`` would change nothing now: no order
        working for ``symbol`` and the position already there (long or short: at
        least a lot that way; flat: none). The pipeline drops such a signal, so a
        strategy that sends one on every price may skip it (and its allocation)."""
        if symbol in self._open_by_symbol:
            return False
        position = self._books.positions.get(symbol)
        if position is None:
            return direction is not _LONG and direction is not _SHORT
        quantity = position.quantity
        if direction is _LONG:
            return quantity >= self._lot_size  # so > 0: lot_size > 0
        if direction is _SHORT:
            return quantity <= -self._lot_size
        return not quantity

    def avg_cost(self, symbol: str) -> Decimal:
        position = self._books.positions.get(symbol)
        return position.avg_cost if position is not None else ZERO

    def available_to_sell(self, symbol: str) -> Decimal:
        position = self._books.positions.get(symbol)
        return position.available_to_sell if position is not None else ZERO

    def previous_price(self, symbol: str) -> Decimal | None:
        if symbol == self.event_symbol:
            return self.event_previous
        return self._books.last_prices.get(symbol)

    def open_quantity(self, symbol: str) -> Decimal:
        return self._orders.open_quantity(symbol)

    def buy_reservation(self, quantity: Decimal, proposal: Proposal) -> Decimal:
        return buy_reservation(
            quantity, proposal.order_type, proposal.limit_price, proposal.price, self.reservation_buffer
        )
