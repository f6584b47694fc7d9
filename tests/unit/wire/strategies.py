"""Hypothesis strategies that build valid wire messages."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from livecore.wire import messages as m

symbols = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.", min_size=1, max_size=12)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=24)
timestamps = st.integers(min_value=0, max_value=2**62)
positive = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e9"), places=4, allow_nan=False)
non_negative = st.decimals(min_value=Decimal(0), max_value=Decimal("1e9"), places=4, allow_nan=False)


@st.composite
def bars(draw: st.DrawFn) -> m.Bar:
    low = draw(positive)
    high = low + draw(non_negative)
    return m.Bar(
        symbol=draw(symbols),
        ts_ns=draw(timestamps),
        open=draw(st.sampled_from([low, high])),
        high=high,
        low=low,
        close=draw(st.sampled_from([low, high])),
        volume=draw(non_negative),
    )


ticks = st.builds(
    m.Tick,
    symbol=symbols,
    ts_ns=timestamps,
    price=positive,
    size=non_negative,
    bid=st.none() | positive,
    ask=st.none() | positive,
)


@st.composite
def new_orders(draw: st.DrawFn) -> m.NewOrder:
    order_type = draw(st.sampled_from(list(m.OrderType)))
    return m.NewOrder(
        client_order_id=draw(ids),
        portfolio_id=draw(ids),
        epoch=draw(st.integers(min_value=0, max_value=2**40)),
        node_id=draw(ids),
        symbol=draw(symbols),
        side=draw(st.sampled_from(list(m.Side))),
        quantity=draw(positive),
        order_type=order_type,
        limit_price=draw(positive) if order_type is m.OrderType.LIMIT else None,
        time_in_force=draw(st.sampled_from(list(m.TimeInForce))),
        created_ns=draw(timestamps),
    )


cancel_orders = st.builds(
    m.CancelOrder,
    client_order_id=ids,
    portfolio_id=ids,
    epoch=st.integers(min_value=0, max_value=2**40),
    node_id=ids,
    created_ns=timestamps,
)


@st.composite
def feedback(draw: st.DrawFn) -> m.OrderFeedback:
    status = draw(st.sampled_from(list(m.FeedbackStatus)))
    is_fill = status in m.FILL_STATUSES
    return m.OrderFeedback(
        status=status,
        client_order_id=draw(ids),
        portfolio_id=draw(ids),
        epoch=draw(st.integers(min_value=0, max_value=2**40)),
        symbol=draw(symbols),
        side=draw(st.sampled_from(list(m.Side))),
        venue_order_id=draw(st.none() | ids),
        fill_id=draw(ids) if is_fill else None,
        fill_qty=draw(positive) if is_fill else None,
        fill_price=draw(positive) if is_fill else None,
        cumulative_qty=draw(non_negative),
        commission=draw(non_negative),
        commission_asset=draw(st.sampled_from(["", "USDT", "BTC", "BNB"])),
        reason=draw(ids) if status is m.FeedbackStatus.REJECTED else None,
        ts_ns=draw(timestamps),
    )


commands = st.builds(
    m.ScheduleCommand,
    command=st.sampled_from(["portfolio.load", "portfolio.reload", "portfolio.migrate", "node.shutdown"]),
    target_node=ids,
    portfolio_id=st.none() | ids,
    params=st.dictionaries(ids, st.integers() | ids | st.booleans(), max_size=4),
    issued_at_ns=timestamps,
    nonce=ids,
    signature=st.text(alphabet="0123456789abcdef", max_size=64),
)
