"""The operator's view of a portfolio: a frozen, JSON-friendly struct."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from livecore.domain.books import Books
from livecore.domain.order_book import OrderBook
from livecore.domain.pipeline import RiskNote
from livecore.domain.snapshot import Counters

if TYPE_CHECKING:
    from livecore.domain.spec import PortfolioSpec


class PositionView(msgspec.Struct, frozen=True, kw_only=True):
    quantity: Decimal
    avg_cost: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    last_price: Decimal | None
    reserved_qty: Decimal


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    symbol: str
    side: str
    quantity: Decimal
    filled_qty: Decimal
    state: str
    order_type: str
    limit_price: Decimal | None
    reserved_cash: Decimal
    reserved_qty: Decimal
    created_ns: int


class PortfolioView(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    name: str
    currency: str
    strategy: str
    epoch: int
    seq: int
    initial_cash: Decimal
    cash: Decimal
    reserved: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    daily_pnl: Decimal
    commissions: Decimal
    positions: dict[str, PositionView]
    open_orders: list[OrderView]
    last_order_id: str | None
    faulted: bool
    fault: str | None
    halted: bool
    halt_reason: str | None
    trading_enabled: bool
    symbols: list[str]
    universe_version: int
    orders_count: int
    fills_count: int
    counters: Counters
    recent_risk: list[RiskNote]
    feedback_problem: str | None  # the last refused execution report, if any


class EquitySample(msgspec.Struct, frozen=True, kw_only=True):
    """The money figures of one point of the equity curve (the node adds when and where)."""

    epoch: int
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal


def equity_sample(books: Books, epoch: int) -> EquitySample:
    return EquitySample(
        epoch=epoch,
        equity=books.equity(),
        cash=books.cash,
        realized_pnl=books.realized_pnl,
        unrealized_pnl=books.unrealized_pnl(),
    )


def build_view(
    *,
    spec: PortfolioSpec,
    strategy: str,
    epoch: int,
    seq: int,
    last_order_id: str | None,
    books: Books,
    orders: OrderBook,
    counters: Counters,
    notes: list[RiskNote],
    fault: str | None,
    halt: str | None,
    trading_enabled: bool,
    symbols: frozenset[str],
    universe_version: int,
    feedback_problem: str | None,
) -> PortfolioView:
    return PortfolioView(
        portfolio_id=spec.id,
        name=spec.name,
        currency=spec.currency,
        strategy=strategy,
        epoch=epoch,
        seq=seq,
        initial_cash=books.initial_cash,
        cash=books.cash,
        reserved=books.reserved,
        equity=books.equity(),
        realized_pnl=books.realized_pnl,
        unrealized_pnl=books.unrealized_pnl(),
        daily_pnl=books.daily_pnl(),
        commissions=books.commissions,
        positions=_positions(books),
        open_orders=_open_orders(orders),
        last_order_id=last_order_id,
        faulted=fault is not None,
        fault=fault,
        halted=halt is not None,
        halt_reason=halt,
        trading_enabled=trading_enabled,
        symbols=sorted(symbols),
        universe_version=universe_version,
        orders_count=counters.orders,
        fills_count=counters.fills,
        counters=msgspec.structs.replace(counters),
        recent_risk=notes,
        feedback_problem=feedback_problem,
    )


def _positions(books: Books) -> dict[str, PositionView]:
    return {
        symbol: PositionView(
            quantity=p.quantity,
            avg_cost=p.avg_cost,
            market_value=books.market_value(symbol),
            unrealized_pnl=books.market_value(symbol) - p.cost,
            last_price=books.last_prices.get(symbol),
            reserved_qty=p.reserved_qty,
        )
        for symbol, p in sorted(books.positions.items())
    }


def _open_orders(orders: OrderBook) -> list[OrderView]:
    return [
        OrderView(
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=o.side.value,
            quantity=o.quantity,
            filled_qty=o.filled_qty,
            state=o.state.value,
            order_type=o.order_type.value,
            limit_price=o.limit_price,
            reserved_cash=o.reserved_cash,
            reserved_qty=o.reserved_qty,
            created_ns=o.created_ns,
        )
        for o in orders.open_orders()
    ]
