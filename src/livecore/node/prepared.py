"""Portfolios prepared for a coming load (``portfolio.prepare``).

A planned migration's target is told when the migration begins, while the
source still drains: it builds the portfolio's spec with its registered code
(the code gate's checks) and reserves the market-data partitions of its
symbols in the InterestMap, so that the market consumer assigns them
meanwhile. The load that follows then only restores the state (snapshot,
journal) and finds its partitions most often already read.

Nothing prepared ever trades: there is no processor and no epoch, and a
reservation only decides which partitions are read, never where events go.
The fence alone decides who runs a portfolio, as before: a preparation that
names the load to come (its epoch and command nonce) is loaded by the fence
watch (``node/fencewatch.py``) once the fence names this node at that epoch,
without waiting for the command to cross the bus. A preparation is
dropped when the load takes it (used or not), when its hold runs out
(``expire``, at every heartbeat; ``take`` ignores an expired one), or on
``portfolio.prepare`` with ``hold_s`` 0 (the leader's abort of a migration
that failed before its load). The load uses the prepared spec only if the
registry entry it reads is the one the spec was built from.

Thread-safe: preparations and their reservations change together under one
lock (the heartbeat expires them while the schedule thread prepares and loads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livecore.node.codegate import CodeGate
from livecore.node.commands import CommandFailed, ExpectedLoad
from livecore.node.interest import InterestMap
from livecore.ports.store import Registry

# a hold longer than this is refused (a preparation is for one migration, not a standing claim)
MAX_HOLD_S = 600.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """A spec built from one registry entry, held until ``expires_at`` (monotonic)."""

    portfolio_id: str
    spec_toml: str
    code_version: str | None
    spec: Any
    symbols: frozenset[str]
    expires_at: float
    load: ExpectedLoad | None = None  # the leader's load, when announced (``node/fencewatch.py``)

    def fits(self, spec_toml: str, code_version: str | None) -> bool:
        """Built from this spec and code version (either changed since: build anew)."""
        return self.spec_toml == spec_toml and self.code_version == code_version


class Preparations:
    """The node's preparations, by portfolio id."""

    def __init__(
        self,
        *,
        registry: Registry,
        code_gate: CodeGate,
        interest: InterestMap,
        market_changed: Callable[[], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``code_gate`` is used by ``prepare`` only, which the caller serialises with its loads."""
        self._registry = registry
        self._code_gate = code_gate
        self._interest = interest
        self._market_changed = market_changed
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, Prepared] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)

    def held(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._held)

    def expected(self) -> dict[str, ExpectedLoad]:
        """The announced loads of the preparations held now, by portfolio id."""
        now = self._clock()
        with self._lock:
            return {
                pid: prepared.load
                for pid, prepared in self._held.items()
                if prepared.load is not None and prepared.expires_at > now
            }

    def prepare(self, portfolio_id: str, hold_s: float, load: ExpectedLoad | None = None) -> str:
        """Build the spec and reserve its partitions for ``hold_s`` seconds; 0 drops.
        ``load``: the load the leader announced (the fence watch may start it)."""
        if hold_s <= 0:
            dropped = self.drop(portfolio_id)
            return f"{portfolio_id}: preparation dropped" if dropped else f"{portfolio_id}: nothing prepared"
        if hold_s > MAX_HOLD_S:
            raise CommandFailed(f"hold_s must be at most {MAX_HOLD_S:g}, got {hold_s:g}")
        entry = self._registry.get(portfolio_id)
        if entry is None:
            raise CommandFailed(f"{portfolio_id} is not in the registry")
        spec = self._code_gate.for_load(portfolio_id, entry.spec_toml, entry.code_version)
        symbols = frozenset(spec.symbols)
        expires_at = self._clock() + hold_s
        prepared = Prepared(portfolio_id, entry.spec_toml, entry.code_version, spec, symbols, expires_at, load)
        with self._lock:
            self._held[portfolio_id] = prepared
            self._interest.reserve(portfolio_id, symbols)
        self._market_changed()  # the market consumer assigns them while the source drains
        return f"{portfolio_id} prepared ({len(symbols)} symbols, held {hold_s:g} s)"

    def take(self, portfolio_id: str) -> Prepared | None:
        """The preparation for a load (removed; None if there is none or it expired).
        Its partitions stay reserved until ``release``, once the load set its own."""
        with self._lock:
            prepared = self._held.pop(portfolio_id, None)
        if prepared is None or prepared.expires_at <= self._clock():
            return None
        return prepared

    def release(self, portfolio_id: str) -> None:
        """Drop the reservation of a portfolio that is no longer prepared."""
        with self._lock:
            released = portfolio_id not in self._held and self._interest.release(portfolio_id)
        if released:
            self._market_changed()

    def drop(self, portfolio_id: str) -> bool:
        """Forget the preparation and its reservation; True if there was one."""
        with self._lock:
            found = self._held.pop(portfolio_id, None) is not None
            self._interest.release(portfolio_id)
        if found:
            self._market_changed()
        return found

    def expire(self) -> list[str]:
        """Drop every preparation whose hold ran out; their ids."""
        now = self._clock()
        with self._lock:
            gone = [pid for pid, prepared in self._held.items() if prepared.expires_at <= now]
            for pid in gone:
                del self._held[pid]
                self._interest.release(pid)
        if gone:
            self._market_changed()
        return gone

    def clear(self) -> None:
        """At stop (the InterestMap is cleared beside)."""
        with self._lock:
            self._held.clear()
