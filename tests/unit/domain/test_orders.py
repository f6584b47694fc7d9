"""The order state machine: legal paths, illegal transitions, ids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.domain import IllegalTransition, Order, OrderState
from livecore.domain.orders import FINAL_STATES, TRANSITIONS, client_order_id, parse_client_order_id
from livecore.wire.messages import Side

S = OrderState


def order(state: OrderState = S.CREATED) -> Order:
    return Order(
        client_order_id="p-1-1",
        seq=1,
        epoch=1,
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(10),
        created_ns=0,
        state=state,
    )


@pytest.mark.parametrize(
    "path",
    [
        [S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED],
        [S.SUBMITTED, S.REJECTED],
        [S.SUBMITTED, S.ACCEPTED, S.CANCEL_PENDING, S.CANCELLED],
        [S.SUBMITTED, S.ACCEPTED, S.CANCEL_PENDING, S.CANCEL_PENDING, S.FILLED],
        [S.SUBMITTED, S.FILLED],
        [S.REJECTED],
    ],
)
def test_legal_paths(path: list[OrderState]) -> None:
    o = order()
    for state in path:
        o.to(state)
    assert o.state is path[-1]


ILLEGAL = [(a, b) for a in OrderState for b in OrderState if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "requested"), ILLEGAL)
def test_illegal_transition_raises_and_leaves_order_untouched(current: OrderState, requested: OrderState) -> None:
    o = order(current)
    before = o.__copy__()
    with pytest.raises(IllegalTransition) as err:
        o.to(requested)
    assert o == before
    assert err.value.current == current.value and err.value.requested == requested.value
    assert "p-1-1" in str(err.value)


def test_final_states_have_no_way_out() -> None:
    assert {S.FILLED, S.REJECTED, S.CANCELLED} == FINAL_STATES
    for state in FINAL_STATES:
        assert TRANSITIONS[state] == frozenset()


def test_inferred_rejection_can_be_revived_but_a_real_one_cannot() -> None:
    o = order(S.SUBMITTED)
    o.infer_rejected("stale_epoch")
    assert o.state is S.REJECTED and o.inferred
    o.revive()
    assert o.state is S.SUBMITTED and not o.inferred
    o.to(S.REJECTED)
    with pytest.raises(IllegalTransition):
        o.revive()


def test_client_order_id_roundtrip_with_dashes_in_portfolio_id() -> None:
    coid = client_order_id("ma-aapl", 7, 42)
    assert coid == "ma-aapl-7-42"
    assert parse_client_order_id(coid) == ("ma-aapl", 7, 42)
    assert parse_client_order_id("nonsense") is None
