"""A portfolio's calls into its strategy outside market events: build, start (or
restore), save, carry over a reload.

The strategy is user code and may raise anywhere. Each call here turns an
exception into a fault, reported through ``on_fault`` (the portfolio keeps the
first), and a safe fallback, so that a faulted portfolio still books fills and
snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from livecore.domain.account import AccountView
from livecore.domain.strategy import Strategy

if TYPE_CHECKING:
    from livecore.domain.spec import PortfolioSpec

OnFault = Callable[[str, BaseException], None]

_state_encoder = msgspec.json.Encoder(order="sorted")


class Inert(Strategy):
    """Stands in for a strategy whose constructor raised (the portfolio is faulted)."""


def build_strategy(spec: PortfolioSpec, on_fault: OnFault) -> Strategy:
    """The spec's strategy, or an ``Inert`` one when its constructor raises."""
    try:
        return spec.build_strategy()
    except Exception as exc:
        on_fault(f"strategy {spec.strategy.name}.__init__", exc)
        return Inert(symbols=spec.symbols)


def start_strategy(strategy: Strategy, account: AccountView, state: Any, on_fault: OnFault) -> None:
    """Bind, start, then restore ``state`` when there is one."""
    strategy.bind(account)
    if isinstance(strategy, Inert):
        return
    where = "strategy.on_start"
    try:
        strategy.on_start()
        if state is not None:
            where = "strategy.restore"
            strategy.restore(state)
    except Exception as exc:
        on_fault(where, exc)


def saved_state(strategy: Strategy, on_fault: OnFault) -> Any:
    """The strategy's memory for a snapshot; None when it raises or cannot be encoded."""
    try:
        state = strategy.state()
        _state_encoder.encode(state)
    except Exception as exc:
        on_fault("strategy.state", exc)
        return None
    return state


def carried_state(strategy: Strategy, spec: PortfolioSpec, faulted: bool) -> Any:
    """The memory a reload hands the new strategy: only to the same class, only from a
    healthy one; a failure to read it just starts the new one fresh."""
    if spec.strategy.cls is not type(strategy) or faulted:
        return None
    try:
        return strategy.state()
    except Exception:
        return None
