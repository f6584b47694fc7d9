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

Every error is a ``SpecError`` naming the dotted field (``strategy.params.fast``,
``risk[1].class``, ``initial_cash``). The original TOML text is kept on the spec
(``toml_text`` / ``to_toml()``): the registry stores exactly what the user wrote.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from livecore.domain import catalog
from livecore.domain.errors import ParamError, SpecError
from livecore.domain.params import Configurable, coerce
from livecore.domain.risk import RiskRule
from livecore.domain.sizers import Sizer
from livecore.domain.strategy import Strategy

C = TypeVar("C", bound=Configurable)

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
TOP_LEVEL_KEYS = frozenset(
    {"id", "name", "currency", "initial_cash", "symbols", "allow_short", "strategy", "sizer", "risk", "settings"}
)
COMPONENT_KEYS = frozenset({"class", "params"})


@dataclass(frozen=True, slots=True)
class PortfolioSettings:
    """Named tunables of one portfolio (``[settings]`` in the spec)."""

    reservation_buffer: Decimal = Decimal("0.05")  # market buys reserve last price * (1 + buffer)
    fill_id_window: int = 10_000  # fill ids remembered for de-duplication
    closed_order_window: int = 1_000  # closed orders kept for late reports
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
    """Validate ``toml_text`` completely; raise ``SpecError`` naming the first bad field."""
    try:
        doc = tomllib.loads(toml_text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError("<toml>", f"not valid TOML: {exc}", source) from None
    p = _Parser(source)
    p.no_unknown(doc, TOP_LEVEL_KEYS, "")
    pid = p.string(doc, "id", required=True)
    if not ID_PATTERN.match(pid):
        p.fail("id", f"must match {ID_PATTERN.pattern}, got {pid!r}")
    currency = p.string(doc, "currency", default="USD")
    if not CURRENCY_PATTERN.match(currency):
        p.fail("currency", f"must be a three-letter upper-case code, got {currency!r}")
    initial_cash = p.decimal(doc, "initial_cash")
    if initial_cash <= 0:
        p.fail("initial_cash", f"must be positive, got {initial_cash}")
    return PortfolioSpec(
        id=pid,
        name=p.string(doc, "name", default=pid),
        currency=currency,
        initial_cash=initial_cash,
        symbols=p.symbols(doc),
        strategy=p.component(doc.get("strategy"), "strategy", catalog.STRATEGIES, Strategy, required=True),
        sizer=p.component(doc.get("sizer", {"class": "percent_equity"}), "sizer", catalog.SIZERS, Sizer, required=True),
        risk=p.rules(doc.get("risk", [])),
        allow_short=p.boolean(doc, "allow_short", default=False),
        settings=p.settings(doc.get("settings", {})),
        toml_text=toml_text,
        source=source,
    )


class _Parser:
    """Field readers that raise ``SpecError`` with the dotted path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> None:
        raise SpecError(path, message, self.source)

    def no_unknown(self, table: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                self.fail(f"{prefix}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def string(self, doc: Mapping[str, Any], key: str, *, required: bool = False, default: str = "") -> str:
        if key not in doc:
            if required:
                self.fail(key, "required field is missing")
            return default
        value = doc[key]
        if not isinstance(value, str) or not value:
            self.fail(key, f"must be a non-empty string, got {value!r}")
        result: str = value
        return result

    def boolean(self, doc: Mapping[str, Any], key: str, *, default: bool) -> bool:
        value = doc.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {value!r}")
        result: bool = value
        return result

    def decimal(self, doc: Mapping[str, Any], key: str) -> Decimal:
        if key not in doc:
            self.fail(key, "required field is missing")
        try:
            value: Decimal = coerce(key, Decimal, doc[key])
        except ParamError as exc:
            raise SpecError(key, exc.message, self.source) from None
        return value

    def symbols(self, doc: Mapping[str, Any]) -> tuple[str, ...]:
        raw = doc.get("symbols")
        if raw is None:
            self.fail("symbols", "required field is missing (a list of symbols, may be empty)")
        if not isinstance(raw, list):
            self.fail("symbols", f"must be a list of strings, got {raw!r}")
        assert isinstance(raw, list)
        seen: list[str] = []
        for i, symbol in enumerate(raw):
            if not isinstance(symbol, str) or not symbol.strip() or symbol != symbol.strip():
                self.fail(f"symbols[{i}]", f"must be a non-empty string without spaces, got {symbol!r}")
            if symbol in seen:
                self.fail(f"symbols[{i}]", f"duplicate symbol {symbol!r}")
            seen.append(symbol)
        return tuple(seen)

    def component(
        self,
        table: Any,
        path: str,
        builtins: dict[str, type[C]],
        base: type[C],
        *,
        required: bool,
    ) -> ComponentSpec[C]:
        if table is None and required:
            self.fail(path, "required table is missing")
        if not isinstance(table, dict):
            self.fail(path, f"must be a table, got {table!r}")
        self.no_unknown(table, COMPONENT_KEYS, f"{path}.")
        name = table.get("class")
        if not isinstance(name, str) or not name:
            self.fail(f"{path}.class", f"must be a class name, got {name!r}")
        try:
            cls = catalog.resolve(name, builtins, base)
        except catalog.ResolveError as exc:
            raise SpecError(f"{path}.class", str(exc), self.source) from None
        params = table.get("params", {})
        if not isinstance(params, dict):
            self.fail(f"{path}.params", f"must be a table, got {params!r}")
        try:
            values = cls.validate_params(params)
        except ParamError as exc:
            raise SpecError(f"{path}.params.{exc.name}", exc.message, self.source) from None
        return ComponentSpec(name=name, cls=cls, params=MappingProxyType(dict(values)))

    def rules(self, raw: Any) -> tuple[ComponentSpec[RiskRule], ...]:
        if not isinstance(raw, list):
            self.fail("risk", f"must be an array of tables ([[risk]]), got {raw!r}")
        return tuple(
            self.component(item, f"risk[{i}]", catalog.RISK_RULES, RiskRule, required=True)
            for i, item in enumerate(raw)
        )

    def settings(self, raw: Any) -> PortfolioSettings:
        if not isinstance(raw, dict):
            self.fail("settings", f"must be a table, got {raw!r}")
        defaults = PortfolioSettings()
        allowed = frozenset(PortfolioSettings.__dataclass_fields__)
        self.no_unknown(raw, allowed, "settings.")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            kind = type(getattr(defaults, key))
            try:
                values[key] = coerce(key, kind, value)
            except ParamError as exc:
                raise SpecError(f"settings.{key}", exc.message, self.source) from None
            if values[key] < 0 or (kind is int and values[key] < 1):
                self.fail(f"settings.{key}", f"must be positive, got {value!r}")
        return PortfolioSettings(**values)
