"""The symbols a portfolio trades, read from its spec, and the partitions of
``market.data`` that hold them (for placement affinity).

Parsing is cached by spec text. A spec that does not parse (it was validated
at deploy, so only a newer or older build could disagree) reads as trading
nothing: placement still works, it only loses the affinity hint. The partition
count is the scheduler's setting (``SchedulerConfig.market_partitions``); if it
differs from the topic's, affinity is weaker, placement is still correct.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from livecore.topology import DEFAULT_LAYOUT
from livecore.wire.partitioning import market_partitions

log = logging.getLogger(__name__)

SymbolReader = Callable[[str], frozenset[str]]


def symbols_from_spec(spec_toml: str) -> frozenset[str]:
    """The domain's reading of the spec's symbols."""
    from livecore.domain.spec import parse_spec

    spec = parse_spec(spec_toml, source="registry")
    return frozenset(str(s) for s in getattr(spec, "symbols", ()) or ())


class SymbolIndex:
    """Spec text -> (symbols, market.data partitions), cached (bounded by the number
    of distinct specs). ``market_partitions``: the topic's partition count."""

    def __init__(
        self,
        reader: SymbolReader = symbols_from_spec,
        max_entries: int = 100_000,
        market_partitions: int = DEFAULT_LAYOUT.market_data,
    ) -> None:
        self._reader = reader
        self._cache: dict[str, tuple[frozenset[str], frozenset[int]]] = {}
        self._max_entries = max_entries
        self.market_partitions = market_partitions

    def _entry(self, spec_toml: str) -> tuple[frozenset[str], frozenset[int]]:
        found = self._cache.get(spec_toml)
        if found is None:
            try:
                symbols = self._reader(spec_toml)
            except Exception as exc:
                log.warning("cannot read symbols from a registered spec: %s", exc)
                symbols = frozenset()
            found = (symbols, market_partitions(symbols, self.market_partitions))
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[spec_toml] = found
        return found

    def of(self, spec_toml: str) -> frozenset[str]:
        return self._entry(spec_toml)[0]

    def partitions(self, spec_toml: str) -> frozenset[int]:
        """The partitions of ``market.data`` that hold the spec's symbols."""
        return self._entry(spec_toml)[1]

    def union(self, specs: Iterable[str]) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for text in specs:
            out |= self.of(text)
        return out

    def partitions_union(self, specs: Iterable[str]) -> frozenset[int]:
        out: frozenset[int] = frozenset()
        for text in specs:
            out |= self.partitions(text)
        return out
