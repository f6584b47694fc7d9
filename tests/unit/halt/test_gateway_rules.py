"""The gateway's reduce-only rule while the cluster is halted: positions are
projected from the journal (fills plus what open orders may still fill)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from livecore.gateway.halt import projected_position, reduces
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, OrderType, Side


def _order(n: int, side: Side, qty: int, symbol: str = "AAA") -> NewOrder:
    return NewOrder(
        client_order_id=f"p-1-{n}", portfolio_id="p", node_id="n", epoch=1, symbol=symbol, side=side,
        quantity=Decimal(qty), order_type=OrderType.MARKET, created_ns=n,
    )  # fmt: skip


def _fill(order: NewOrder, qty: int, cumulative: int, final: bool) -> OrderFeedback:
    return OrderFeedback(
        status=FeedbackStatus.FILLED if final else FeedbackStatus.PARTIALLY_FILLED,
        client_order_id=order.client_order_id, portfolio_id="p", epoch=1, symbol=order.symbol, side=order.side,
        fill_id=f"{order.client_order_id}-f{cumulative}", fill_qty=Decimal(qty), fill_price=Decimal(10),
        cumulative_qty=Decimal(cumulative),
    )  # fmt: skip


def test_the_projection_counts_fills_once_and_what_open_orders_may_still_fill() -> None:
    bought, selling, other = _order(1, Side.BUY, 100), _order(2, Side.SELL, 60), _order(3, Side.BUY, 5, "BBB")
    fills = [_fill(bought, 100, 100, True), _fill(bought, 100, 100, True), _fill(selling, 20, 20, False)]
    # 100 bought (the repeated fill counts once), 20 sold, 40 more may still be sold
    assert projected_position("AAA", [bought, selling, other], fills) == Decimal(40)
    cancelled = OrderFeedback(
        status=FeedbackStatus.CANCELLED, client_order_id=selling.client_order_id, portfolio_id="p", epoch=1,
        cumulative_qty=Decimal(20), reason="cluster_halt",
    )  # fmt: skip
    assert projected_position("AAA", [bought, selling], [*fills, cancelled]) == Decimal(80)


def test_only_orders_that_bring_a_position_closer_to_zero_pass() -> None:
    assert reduces(Decimal(100), _order(1, Side.SELL, 100))
    assert reduces(Decimal(-50), _order(1, Side.BUY, 20))
    assert not reduces(Decimal(100), _order(1, Side.BUY, 1))  # grows
    assert not reduces(Decimal(100), _order(1, Side.SELL, 101))  # flips
    assert not reduces(Decimal(0), _order(1, Side.SELL, 1))  # opens


@given(st.integers(-1000, 1000), st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 2000))
def test_an_admitted_order_never_grows_or_flips_the_position(position: int, side: Side, qty: int) -> None:
    order = _order(1, side, qty)
    if reduces(Decimal(position), order):
        after = position + (qty if side is Side.BUY else -qty)
        assert abs(after) < abs(position) and after * position >= 0
