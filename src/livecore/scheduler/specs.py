"""The symbols a portfolio trades, read from its spec (for placement affinity).

Parsing is cached by spec text. A spec that does not parse (it was validated
at deploy, so only a newer or older build could disagree) reads as trading
nothing: placement still works, it only loses the affinity hint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

SymbolReader = Callable[[str], frozenset[str]]


def symbols_from_spec(spec_toml: str) -> frozenset[str]:
    """The domain's reading of the spec's symbols."""
    from livecore.domain.spec import parse_spec

    spec = parse_spec(spec_toml, source="registry")
    return frozenset(str(s) for s in getattr(spec, "symbols", ()) or ())


class SymbolIndex:
    """Spec text -> symbols, cached (bounded by the number of distinct specs)."""

    def __init__(self, reader: SymbolReader = symbols_from_spec, max_entries: int = 100_000) -> None:
        self._reader = reader
        self._cache: dict[str, frozenset[str]] = {}
        self._max_entries = max_entries

    def of(self, spec_toml: str) -> frozenset[str]:
        found = self._cache.get(spec_toml)
        if found is None:
            try:
                found = self._reader(spec_toml)
            except Exception as exc:
                log.warning("cannot read symbols from a registered spec: %s", exc)
                found = frozenset()
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[spec_toml] = found
        return found

    def union(self, specs: Iterable[str]) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for text in specs:
            out |= self.of(text)
        return out
