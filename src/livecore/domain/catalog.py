"""Names of the built-in components, and loading of user classes by path.

A spec names a component either by a short built-in name (``ma_crossover``)
or by ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from livecore.domain.builtins.strategies import BollingerReversion, Breakout, BuyAndHold, MovingAverageCross
from livecore.domain.risk import DailyLossLimit, MaxOrderValue, MaxPositionWeight, NoShort, PriceBand, RiskRule
from livecore.domain.sizers import FixedQuantity, PercentOfEquity, Sizer
from livecore.domain.strategy import Strategy

T = TypeVar("T")

STRATEGIES: dict[str, type[Strategy]] = {
    "ma_crossover": MovingAverageCross,
    "breakout": Breakout,
    "bollinger": BollingerReversion,
    "buy_and_hold": BuyAndHold,
}
SIZERS: dict[str, type[Sizer]] = {
    "fixed": FixedQuantity,
    "percent_equity": PercentOfEquity,
}
RISK_RULES: dict[str, type[RiskRule]] = {
    cls.name: cls for cls in (MaxPositionWeight, MaxOrderValue, DailyLossLimit, NoShort, PriceBand)
}


class ResolveError(ValueError):
    """A component name that does not resolve to a class of the right kind."""


def resolve(name: str, builtins: dict[str, type[T]], base: type[T]) -> type[T]:
    """The class called ``name``: a built-in short name or ``package.module:Class``."""
    if name in builtins:
        return builtins[name]
    if ":" not in name:
        known = ", ".join(sorted(builtins))
        raise ResolveError(f"unknown {base.__name__.lower()} {name!r} (built-ins: {known}; or package.module:Class)")
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ResolveError(f"cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:  # the user's module itself is broken (syntax, raises at import): say so, in one line
        raise ResolveError(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from None
    found = module
    for part in attr.split("."):
        if not hasattr(found, part):
            raise ResolveError(f"module {module_name!r} has no {attr!r}")
        found = getattr(found, part)
    if not isinstance(found, type) or not issubclass(found, base):
        raise ResolveError(f"{name!r} is not a subclass of {base.__name__}")
    return found


def name_of(cls: type, builtins: dict[str, type[T]]) -> str:
    """The short name of a built-in, else ``module:Qualname``."""
    for short, known in builtins.items():
        if known is cls:
            return short
    return f"{cls.__module__}:{cls.__qualname__}"
