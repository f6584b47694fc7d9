"""The simulated account's balances: free and locked per asset, exact.

Every change is one of four moves (lock, unlock, debit, credit), so the sum of
free and locked changes only by what a trade or a deposit moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


class ShortBalance(Exception):
    """An asset's free balance cannot cover a lock or a debit."""


@dataclass
class Holding:
    free: Decimal = ZERO
    locked: Decimal = ZERO


class Ledger:
    """Balances of the one account the simulator serves."""

    def __init__(self, balances: Mapping[str, Decimal] | None = None) -> None:
        self._holdings: dict[str, Holding] = {}
        for asset, amount in (balances or {}).items():
            self.set_free(asset, amount)

    def holding(self, asset: str) -> Holding:
        return self._holdings.setdefault(asset, Holding())

    def free(self, asset: str) -> Decimal:
        return self.holding(asset).free

    def set_free(self, asset: str, amount: Decimal) -> None:
        """A deposit or withdrawal by the operator of the simulator."""
        if amount < 0:
            raise ValueError(f"a balance is >= 0, got {asset}={amount}")
        self.holding(asset).free = Decimal(amount)

    def lock(self, asset: str, amount: Decimal) -> None:
        held = self.holding(asset)
        if amount > held.free:
            raise ShortBalance(asset)
        held.free -= amount
        held.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        held = self.holding(asset)
        held.locked -= amount
        held.free += amount

    def debit(self, asset: str, amount: Decimal) -> None:
        held = self.holding(asset)
        if amount > held.free:
            raise ShortBalance(asset)
        held.free -= amount

    def credit(self, asset: str, amount: Decimal) -> None:
        self.holding(asset).free += amount

    def snapshot(self) -> dict[str, Holding]:
        """Every asset ever held, sorted by name (copies)."""
        return {asset: Holding(h.free, h.locked) for asset, h in sorted(self._holdings.items())}
