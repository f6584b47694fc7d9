"""Strategies and rules that misbehave on purpose (loaded by class path)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from livecore.domain import Fill, Param, Proposal, RiskContext, RiskRule, Signal, Signals, Strategy
from livecore.domain.risk import Decision


class Boom(Strategy):
    """Raises in the callback named by ``where`` once ``after`` events were seen."""

    where = Param(str, "on_price")
    after = Param(int, 0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.where == "__init__":
            raise ValueError("cannot build")
        self.seen = 0

    def _maybe(self, name: str) -> None:
        if self.where == name:
            raise RuntimeError(f"boom in {name}")

    def on_start(self) -> None:
        self._maybe("on_start")

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        self.seen += 1
        if self.seen > self.after:
            self._maybe("on_price")
        return [Signal.target(symbol, Decimal(10))]

    def on_fill(self, fill: Fill) -> Signals:
        self._maybe("on_fill")
        return None

    def state(self) -> Any:
        self._maybe("state")
        if self.where == "unencodable":
            return {"x": object()}
        return {"seen": self.seen}

    def restore(self, state: Any) -> None:
        self._maybe("restore")
        self.seen = state["seen"]


class Grenade(RiskRule):
    """A risk rule that raises."""

    name = "grenade"

    def check(self, proposal: Proposal, ctx: RiskContext) -> Decision | None:
        raise ZeroDivisionError("rule bug")


class Universe(Strategy):
    """Moves its universe to ``next`` on the first event of another symbol."""

    next = Param(str, "MSFT")

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        if symbol != self.next:
            self.set_symbols([self.next])
        return None
