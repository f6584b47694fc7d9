"""Errors of the pure domain. Each names what failed in one line."""

from __future__ import annotations

from collections.abc import Sequence

from livecore.errors import ConfigError, LivecoreError


class DomainError(LivecoreError):
    """Base of every error the domain raises on purpose."""


class IllegalTransition(DomainError):
    """An order state change the state machine does not allow; nothing was changed."""

    def __init__(self, client_order_id: str, current: str, requested: str) -> None:
        super().__init__(f"order {client_order_id}: illegal transition {current} -> {requested}")
        self.client_order_id = client_order_id
        self.current = current
        self.requested = requested


class SnapshotError(DomainError):
    """A snapshot that cannot be restored (wrong schema version, other portfolio, lower epoch)."""


class ParamError(DomainError):
    """A component parameter is unknown, missing, of the wrong type or out of range."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class SpecError(ConfigError):
    """A portfolio spec is invalid. ``problems`` lists every ``(dotted field,
    message)`` found, so one round of fixes is enough; ``field``/``message`` are
    the first. The text is one line per problem: ``source: field: message``."""

    def __init__(self, field: str, message: str, source: str = "<spec>", more: Sequence[tuple[str, str]] = ()) -> None:
        self.problems: tuple[tuple[str, str], ...] = ((field, message), *more)
        self.field = field
        self.message = message
        self.source = source
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        return [f"{self.source}: {field}: {message}" for field, message in self.problems]
