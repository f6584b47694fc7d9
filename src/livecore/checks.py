"""One way to validate a configuration object.

Every ``*Config`` and ``*Settings`` dataclass checks its fields in
``__post_init__`` with these helpers, so a bad value is always a
``ConfigError`` whose message names the class and the field
(``NodeConfig.workers must be >= 1, got 0``), whichever object refused it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from livecore.errors import ConfigError


def fail(config: object, field: str, rule: str) -> NoReturn:
    """Refuse ``config`` because ``field`` breaks ``rule`` (e.g. ``must be > 0``)."""
    value: Any = getattr(config, field)
    raise ConfigError(f"{type(config).__name__}.{field} {rule}, got {value!r}")


def require(condition: bool, config: object, field: str, rule: str) -> None:
    """``fail`` unless ``condition`` holds."""
    if not condition:
        fail(config, field, rule)


def at_least(config: object, minimum: float, *fields: str) -> None:
    """Each of ``fields`` is ``>= minimum``."""
    for field in fields:
        require(getattr(config, field) >= minimum, config, field, f"must be >= {minimum}")


def positive(config: object, *fields: str) -> None:
    """Each of ``fields`` is ``> 0`` (NaN is refused too)."""
    for field in fields:
        require(getattr(config, field) > 0, config, field, "must be > 0")


def non_negative(config: object, *fields: str) -> None:
    """Each of ``fields`` is ``>= 0`` (NaN is refused too)."""
    for field in fields:
        require(getattr(config, field) >= 0, config, field, "must be >= 0")


def positive_or_none(config: object, *fields: str) -> None:
    """Each of ``fields`` is None (the feature is off) or ``> 0``."""
    for field in fields:
        value = getattr(config, field)
        require(value is None or value > 0, config, field, "must be > 0 (or None)")


def non_empty(config: object, *fields: str) -> None:
    """Each of ``fields`` is a non-empty string."""
    for field in fields:
        require(bool(getattr(config, field)), config, field, "must not be empty")
