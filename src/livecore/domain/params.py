"""Typed, declared parameters for strategies, sizers and risk rules.

A component declares its parameters as class attributes::

    class MyStrategy(Strategy):
        window = Param(int, 20, ge=2, doc="bars in the moving average")

and is built with keyword arguments. Unknown names, missing required values,
wrong types and out-of-range values raise ``ParamError`` naming the parameter,
so a spec loader can point at the exact TOML field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar, overload

import msgspec

from livecore.domain.errors import ParamError

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()

SUPPORTED_KINDS: tuple[type, ...] = (int, float, Decimal, bool, str)


def coerce(name: str, kind: type, value: Any) -> Any:
    """Convert ``value`` to ``kind`` where that is lossless; raise ``ParamError`` otherwise.

    ``msgspec.convert`` in strict mode decides what converts: bool only from
    bool, int only from int (not bool, not 3.0), float from int/float/Decimal,
    str only from str, Decimal from int, float (its shortest repr), Decimal or
    decimal text; a Decimal must also be finite. Bounds and choices stay in
    ``Param.validate``: msgspec's ``Meta`` bounds do not apply to Decimal (the
    kind of every amount) and the messages (``must be >= 2, got 1``) are part of
    what ``livecore portfolio validate`` prints."""
    if kind not in SUPPORTED_KINDS:
        raise ParamError(name, f"unsupported parameter kind {kind.__name__}")
    try:
        result: Any = msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError:
        if kind is Decimal and isinstance(value, str):
            raise ParamError(name, f"expected a decimal number, got {value!r}") from None
    else:
        if kind is not Decimal or result.is_finite():
            return result
    raise ParamError(name, f"expected {kind.__name__}, got {type(value).__name__} {value!r}")


class Param(Generic[T]):
    """One declared parameter: kind, default (``REQUIRED`` if none) and bounds."""

    def __init__(
        self,
        kind: type[T],
        default: T = REQUIRED,
        *,
        gt: Any = None,
        ge: Any = None,
        le: Any = None,
        choices: tuple[T, ...] | None = None,
        doc: str = "",
    ) -> None:
        if kind not in SUPPORTED_KINDS:
            raise TypeError(f"Param kind must be one of {[k.__name__ for k in SUPPORTED_KINDS]}")
        self.kind = kind
        self.default = default
        self.gt = gt
        self.ge = ge
        self.le = le
        self.choices = choices
        self.doc = doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def validate(self, value: Any) -> T:
        """Coerce and range-check ``value``."""
        v = coerce(self.name, self.kind, value)
        if self.gt is not None and not v > self.gt:
            raise ParamError(self.name, f"must be > {self.gt}, got {v}")
        if self.ge is not None and not v >= self.ge:
            raise ParamError(self.name, f"must be >= {self.ge}, got {v}")
        if self.le is not None and not v <= self.le:
            raise ParamError(self.name, f"must be <= {self.le}, got {v}")
        if self.choices is not None and v not in self.choices:
            raise ParamError(self.name, f"must be one of {list(self.choices)}, got {v!r}")
        result: T = v
        return result

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Param[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> Param[T] | T:
        """The class attribute is the declaration; an instance normally reads its
        value from its own attribute (``Configurable.__init__``), this is the fallback."""
        if obj is None:
            return self
        value: T = obj._param_values[self.name]  # type: ignore[attr-defined]
        return value


class Configurable:
    """Base of every component built from a spec: collects ``Param`` declarations."""

    params_spec: ClassVar[dict[str, Param[Any]]] = {}
    reserved_names: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Param[Any]] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Param):
                    found[key] = value
        clash = set(found) & cls.reserved_names
        if clash:
            raise TypeError(f"{cls.__name__}: parameter names {sorted(clash)} are reserved")
        cls.params_spec = found

    def __init__(self, **params: Any) -> None:
        self._param_values = self.validate_params(params)
        # each value also as an instance attribute, which shadows its (non-data)
        # ``Param`` descriptor: a strategy reads its parameters on every event, and a
        # plain attribute read costs a fraction of a descriptor call. Set one by one:
        # ``vars(self).update`` would turn the instance's inline attribute values into
        # a dict, and CPython then reads every attribute of it the slow way.
        for name, value in self._param_values.items():
            setattr(self, name, value)

    @classmethod
    def validate_params(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``raw`` against the declarations; return the full, coerced values.
        Raises the first ``ParamError`` (``param_problems`` lists them all)."""
        values, problems = cls.param_problems(raw)
        if problems:
            raise problems[0]
        return values

    @classmethod
    def param_problems(cls, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[ParamError]]:
        """The coerced values and every problem of ``raw``: unknown names, missing
        and invalid values, in that order; the cross-parameter checks
        (``check_params``) only once every value is valid on its own."""
        known = ", ".join(sorted(cls.params_spec)) or "none"
        problems = [
            ParamError(name, f"unknown parameter of {cls.__name__} (known: {known})")
            for name in sorted(set(raw) - set(cls.params_spec))
        ]
        values: dict[str, Any] = {}
        for name, param in cls.params_spec.items():
            try:
                if name in raw:
                    values[name] = param.validate(raw[name])
                elif param.required:
                    problems.append(ParamError(name, f"required parameter of {cls.__name__} is missing"))
                else:
                    values[name] = param.default
            except ParamError as exc:
                problems.append(exc)
        if not problems:
            try:
                cls.check_params(values)
            except ParamError as exc:
                problems.append(exc)
        return values, problems

    @classmethod
    def check_params(cls, values: Mapping[str, Any]) -> None:
        """Cross-parameter checks (raise ``ParamError``); none by default."""

    @property
    def params(self) -> Mapping[str, Any]:
        """The validated parameter values."""
        return dict(self._param_values)
