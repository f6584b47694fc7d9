"""The operator's view of a portfolio: a frozen, JSON-friendly struct."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from livecore.domain.pipeline import RiskNote
from livecore.domain.snapshot import Counters


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
