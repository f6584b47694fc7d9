"""Builders shared by the domain tests: specs, events, execution reports."""

from __future__ import annotations

from decimal import Decimal

from livecore.domain import Fill, Portfolio, PortfolioSpec, Signal, Signals, Strategy, parse_spec
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


class Scripted(Strategy):
    """Emits what the test queued, on the next event of a symbol in its universe."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.queue: list[Signal] = []
        self.fills: list[Fill] = []

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        out, self.queue = self.queue, []
        return out

    def on_fill(self, fill: Fill) -> Signals:
        self.fills.append(fill)
        return None


SCRIPTED = "tests.unit.domain.helpers:Scripted"


def scripted_spec(*, risk: str = "", extra: str = "", symbols: str = '["AAPL", "MSFT"]', **kw: str) -> PortfolioSpec:
    return spec(SCRIPTED, "", risk=risk, extra=extra, symbols=symbols, **kw)


def scripted(s: PortfolioSpec | None = None, epoch: int = 1) -> tuple[Portfolio, Scripted]:
    p = Portfolio.create(s or scripted_spec(), epoch, "n1")
    assert isinstance(p.strategy, Scripted)
    return p, p.strategy


def order_for(p: Portfolio, signal: Signal, price: str | int = 100, i: int = 0) -> NewOrder:
    """Queue ``signal``, send one tick of its symbol at ``price``, return the single new order."""
    strategy = p.strategy
    assert isinstance(strategy, Scripted)
    strategy.queue.append(signal)
    p.on_market(tick(price, i, signal.symbol))
    [order] = new_orders(p)
    return order


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


__all__ = [
    "NS",
    "PID",
    "SCRIPTED",
    "Scripted",
    "Side",
    "bar",
    "create",
    "fill",
    "new_orders",
    "order_for",
    "scripted",
    "scripted_spec",
    "spec",
    "status",
    "tick",
]
