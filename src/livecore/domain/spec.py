"""Portfolio specs: TOML in, a validated frozen ``PortfolioSpec`` out.

::

    id = "ma-aapl"
    name = "MA crossover on AAPL"
    currency = "USD"
    initial_cash = 100000
    symbols = ["AAPL"]
    allow_short = false

    [strategy]
    class = "ma_crossover"            # or "package.module:Class"
    params = { fast = 5, slow = 20 }

    [sizer]                           # optional: percent_equity 10 by default
    class = "percent_equity"
    params = { percent = 10, lot_size = 1 }

    [[risk]]                          # zero or more
    class = "max_order_value"
    params = { max_value = 25000 }

    [settings]                        # optional
    reservation_buffer = 0.05

A spec with mistakes raises one ``SpecError`` listing every one of them, each
naming its dotted field (``strategy.params.fast``, ``risk[1].class``,
``initial_cash``), so one round of fixes is enough. The original TOML text is kept on the spec
(``toml_text`` / ``to_toml()``): the registry stores exactly what the user wrote.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, NoReturn, TypeVar

from livecore.domain import catalog
from livecore.domain.errors import ParamError, SpecError
from livecore.domain.fees import quote_of
from livecore.domain.params import Configurable, coerce
from livecore.domain.risk import RiskRule
from livecore.domain.sizers import Sizer
from livecore.domain.strategy import Strategy

C = TypeVar("C", bound=Configurable)
T = TypeVar("T")

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z0-9]{2,10}$")  # USD, EUR, USDT, USDC, BTC
TOP_LEVEL_KEYS = frozenset(
    {"id", "name", "currency", "initial_cash", "symbols", "allow_short", "strategy", "sizer", "risk", "settings"}
)
COMPONENT_KEYS = frozenset({"class", "params"})
DEFAULT_SIZER = {"class": "percent_equity"}


@dataclass(frozen=True, slots=True)
class PortfolioSettings:
    """Named tunables of one portfolio (``[settings]`` in the spec)."""

    reservation_buffer: Decimal = Decimal("0.05")  # market buys reserve last price * (1 + buffer)
    # no longer used (fills are de-duplicated by order state); still accepted, so
    # specs written for earlier releases load
    fill_id_window: int = 10_000
    # closed orders kept (in memory and in every snapshot) for operators and late
    # reports; a report for an order forgotten since is still recognised
    closed_order_window: int = 16
    risk_note_window: int = 20  # recent vetoes/shrinks kept for operators


@dataclass(frozen=True, slots=True)
class ComponentSpec(Generic[C]):
    """A resolved component: its class and validated parameters."""

    name: str
    cls: type[C]
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PortfolioSpec:
    id: str
    name: str
    currency: str
    initial_cash: Decimal
    symbols: tuple[str, ...]
    strategy: ComponentSpec[Strategy]
    sizer: ComponentSpec[Sizer]
    risk: tuple[ComponentSpec[RiskRule], ...]
    allow_short: bool
    settings: PortfolioSettings = field(default_factory=PortfolioSettings)
    toml_text: str = ""
    source: str = "<spec>"

    def to_toml(self) -> str:
        """The TOML text this spec was parsed from."""
        return self.toml_text

    def build_strategy(self) -> Strategy:
        return self.strategy.cls(symbols=self.symbols, **self.strategy.params)

    def build_sizer(self) -> Sizer:
        return self.sizer.cls(**self.sizer.params)

    def build_rules(self) -> tuple[RiskRule, ...]:
        return tuple(rule.cls(**rule.params) for rule in self.risk)


def load_spec(path: str | Path) -> PortfolioSpec:
    """Read and parse a spec file; the file name is the ``source`` in errors."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("<file>", f"cannot read: {exc.strerror or exc}", str(p)) from None
    return parse_spec(text, source=str(p))


def parse_spec(toml_text: str, source: str = "<spec>") -> PortfolioSpec:
    """Validate ``toml_text`` completely; raise one ``SpecError`` naming every bad field."""
    try:
        doc = tomllib.loads(toml_text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError("<toml>", f"not valid TOML: {exc}", source) from None
    p = _Parser(source)
    p.no_unknown(doc, TOP_LEVEL_KEYS, "")
    fields: dict[str, Any] = {
        "id": p.read(lambda: p.identifier(doc)),
        "currency": p.read(lambda: p.currency(doc)),
        "initial_cash": p.read(lambda: p.positive_decimal(doc, "initial_cash")),
        "name": p.read(lambda: p.string(doc, "name", default=str(doc.get("id", "")))),
        "symbols": p.read(lambda: p.symbols(doc)),
        "strategy": p.read(lambda: p.component(doc.get("strategy"), "strategy", catalog.STRATEGIES, Strategy)),
        "sizer": p.read(lambda: p.component(doc.get("sizer", DEFAULT_SIZER), "sizer", catalog.SIZERS, Sizer)),
        "risk": p.read(lambda: p.rules(doc.get("risk", []))),
        "allow_short": p.read(lambda: p.boolean(doc, "allow_short", default=False)),
        "settings": p.read(lambda: p.settings(doc.get("settings", {}))),
    }
    p.quotes_match(fields["currency"], fields["symbols"])
    if p.problems:
        raise p.error()
    return PortfolioSpec(**fields, toml_text=toml_text, source=source)


class _Invalid(Exception):
    """Stops reading one field; its problem is already recorded."""


class _Parser:
    """Field readers that record every problem with its dotted path.

    ``record`` notes a problem and reading goes on (the next unknown key, the
    next symbol, the next parameter); ``fail`` notes one and abandons the field
    at hand (``read`` catches that), since what follows depends on it (a
    component whose class is unknown has no parameters to check).

    Hand-written rather than one ``msgspec.convert`` of the whole document into
    a Struct: msgspec stops at the first error where a spec reports all of
    them, its ``Meta`` bounds do not apply to Decimal (``initial_cash``,
    ``reservation_buffer``), and these messages are what ``livecore portfolio
    validate`` prints. Each scalar still goes through ``params.coerce``, which is
    msgspec's strict conversion, one field at a time."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[tuple[str, str]] = []

    def record(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def fail(self, path: str, message: str) -> NoReturn:
        self.record(path, message)
        raise _Invalid

    def read(self, reader: Callable[[], T]) -> T | None:
        """``reader()``, or None if it failed (its problems are recorded)."""
        try:
            return reader()
        except _Invalid:
            return None

    def error(self) -> SpecError:
        (field, message), *more = self.problems
        return SpecError(field, message, self.source, more)

    def settle(self, before: int) -> None:
        """Abandon the field at hand if it recorded problems since ``before``."""
        if len(self.problems) > before:
            raise _Invalid

    def no_unknown(self, table: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                self.record(f"{prefix}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def string(self, doc: Mapping[str, Any], key: str, *, required: bool = False, default: str = "") -> str:
        if key not in doc:
            if required:
                self.fail(key, "required field is missing")
            return default
        value = doc[key]
        if not isinstance(value, str) or not value:
            self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def identifier(self, doc: Mapping[str, Any]) -> str:
        pid = self.string(doc, "id", required=True)
        if not ID_PATTERN.match(pid):
            self.fail("id", f"must match {ID_PATTERN.pattern}, got {pid!r}")
        return pid

    def currency(self, doc: Mapping[str, Any]) -> str:
        currency = self.string(doc, "currency", default="USD")
        if not CURRENCY_PATTERN.match(currency):
            self.fail("currency", f"must be 2 to 10 upper-case letters or digits (USD, USDT), got {currency!r}")
        return currency

    def boolean(self, doc: Mapping[str, Any], key: str, *, default: bool) -> bool:
        value = doc.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {value!r}")
        return value

    def positive_decimal(self, doc: Mapping[str, Any], key: str) -> Decimal:
        if key not in doc:
            self.fail(key, "required field is missing")
        try:
            value: Decimal = coerce(key, Decimal, doc[key])
        except ParamError as exc:
            self.fail(key, exc.message)
        if value <= 0:
            self.fail(key, f"must be positive, got {value}")
        return value

    def symbols(self, doc: Mapping[str, Any]) -> tuple[str, ...]:
        raw = doc.get("symbols")
        if raw is None:
            self.fail("symbols", "required field is missing (a list of symbols, may be empty)")
        if not isinstance(raw, list):
            self.fail("symbols", f"must be a list of strings, got {raw!r}")
        before = len(self.problems)
        seen: list[str] = []
        for i, symbol in enumerate(raw):
            if not isinstance(symbol, str) or not symbol.strip() or symbol != symbol.strip():
                self.record(f"symbols[{i}]", f"must be a non-empty string without spaces, got {symbol!r}")
            elif symbol in seen:
                self.record(f"symbols[{i}]", f"duplicate symbol {symbol!r}")
            else:
                seen.append(symbol)
        self.settle(before)
        return tuple(seen)

    def quotes_match(self, currency: str | None, symbols: tuple[str, ...] | None) -> None:
        """A ``BASE/QUOTE`` symbol is paid for in its quote: the portfolio's cash must be in it."""
        if currency is None or symbols is None:
            return
        for i, symbol in enumerate(symbols):
            quote = quote_of(symbol)
            if quote is not None and quote != currency:
                self.record(
                    f"symbols[{i}]", f"{symbol} is quoted in {quote}, but the portfolio's currency is {currency}"
                )

    def component(self, table: Any, path: str, builtins: dict[str, type[C]], base: type[C]) -> ComponentSpec[C]:
        if table is None:
            self.fail(path, "required table is missing")
        if not isinstance(table, dict):
            self.fail(path, f"must be a table, got {table!r}")
        before = len(self.problems)
        self.no_unknown(table, COMPONENT_KEYS, f"{path}.")
        name = table.get("class")
        if not isinstance(name, str) or not name:
            self.fail(f"{path}.class", f"must be a class name, got {name!r}")
        try:
            cls = catalog.resolve(name, builtins, base)
        except catalog.ResolveError as exc:
            self.fail(f"{path}.class", str(exc))
        params = table.get("params", {})
        if not isinstance(params, dict):
            self.fail(f"{path}.params", f"must be a table, got {params!r}")
        values, problems = cls.param_problems(params)
        for problem in problems:
            self.record(f"{path}.params.{problem.name}", problem.message)
        self.settle(before)
        return ComponentSpec(name=name, cls=cls, params=MappingProxyType(dict(values)))

    def rules(self, raw: Any) -> tuple[ComponentSpec[RiskRule], ...]:
        if not isinstance(raw, list):
            self.fail("risk", f"must be an array of tables ([[risk]]), got {raw!r}")
        before = len(self.problems)
        rules = [
            self.read(partial(self.component, item, f"risk[{i}]", catalog.RISK_RULES, RiskRule))
            for i, item in enumerate(raw)
        ]
        self.settle(before)
        return tuple(rule for rule in rules if rule is not None)

    def settings(self, raw: Any) -> PortfolioSettings:
        if not isinstance(raw, dict):
            self.fail("settings", f"must be a table, got {raw!r}")
        before = len(self.problems)
        defaults = PortfolioSettings()
        self.no_unknown(raw, frozenset(PortfolioSettings.__dataclass_fields__), "settings.")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in PortfolioSettings.__dataclass_fields__:
                values[key] = self.read(partial(self.setting, defaults, key, value))
        self.settle(before)
        return PortfolioSettings(**values)

    def setting(self, defaults: PortfolioSettings, key: str, value: Any) -> Any:
        kind = type(getattr(defaults, key))
        try:
            result = coerce(key, kind, value)
        except ParamError as exc:
            self.fail(f"settings.{key}", exc.message)
        if result < 0 or (kind is int and result < 1):
            self.fail(f"settings.{key}", f"must be positive, got {value!r}")
        return result
