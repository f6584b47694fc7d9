"""Builders shared by the domain tests: specs, events, execution reports."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain import Portfolio, PortfolioSpec, parse_spec
from livecore.wire.messages import Bar, FeedbackStatus, NewOrder, OrderFeedback, Side, Tick

PID = "p1"
NS = 1_000_000_000


def spec(
    strategy: str = "ma_crossover",
    params: str = "fast = 2, slow = 4",
    *,
    symbols: str = '["AAPL"]',
    sizer: str = 'class = "fixed"\nparams = { quantity = 10 }',
    risk: str = "",
    extra: str = "",
    cash: str = "100000",
) -> PortfolioSpec:
    text = f"""
id = "{PID}"
initial_cash = {cash}
symbols = {symbols}
{extra}
[strategy]
class = "{strategy}"
params = {{ {params} }}

[sizer]
{sizer}
{risk}
"""
    return parse_spec(text, source="test.toml")


def create(s: PortfolioSpec | None = None, epoch: int = 1) -> Portfolio:
    return Portfolio.create(s or spec(), epoch, "n1")


def tick(price: str | int | Decimal, i: int = 0, symbol: str = "AAPL") -> Tick:
    return Tick(symbol=symbol, ts_ns=i * NS, price=Decimal(price))


def bar(close: str | int | Decimal, i: int = 0, symbol: str = "AAPL") -> Bar:
    c = Decimal(close)
    return Bar(symbol=symbol, ts_ns=i * 86_400 * NS, open=c, high=c, low=c, close=c)


def fill(
    order: NewOrder,
    qty: str | int | Decimal | None = None,
    price: str | int | Decimal = 100,
    fill_id: str | None = None,
    commission: str | int | Decimal = 0,
    final: bool | None = None,
    ts_ns: int = 0,
) -> OrderFeedback:
    q = order.quantity if qty is None else Decimal(qty)
    done = (q == order.quantity) if final is None else final
    return OrderFeedback(
        status=FeedbackStatus.FILLED if done else FeedbackStatus.PARTIALLY_FILLED,
        client_order_id=order.client_order_id,
        portfolio_id=order.portfolio_id,
        epoch=order.epoch,
        symbol=order.symbol,
        side=order.side,
        fill_id=fill_id or f"{order.client_order_id}-f{q}",
        fill_qty=q,
        fill_price=Decimal(price),
        cumulative_qty=q,
        commission=Decimal(commission),
        ts_ns=ts_ns,
    )


def status(order: NewOrder, st: FeedbackStatus, reason: str | None = None) -> OrderFeedback:
    if st is FeedbackStatus.REJECTED and reason is None:
        reason = "test"
    return OrderFeedback(
        status=st,
        client_order_id=order.client_order_id,
        portfolio_id=order.portfolio_id,
        epoch=order.epoch,
        symbol=order.symbol,
        reason=reason,
    )


def new_orders(p: Portfolio) -> list[NewOrder]:
    return [o for o in p.drain_outbox() if isinstance(o, NewOrder)]


__all__ = ["NS", "PID", "Side", "bar", "create", "fill", "new_orders", "spec", "status", "tick"]
