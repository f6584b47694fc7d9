"""Callbacks handed to librdkafka never raise.

librdkafka runs ``error_cb``, the log callback, delivery reports and the
rebalance callbacks from inside a C call (``poll``, ``flush``, ``consume``,
``close``). A Python exception raised there is left pending in the C
extension: the next callback of the same call, or the next Python operation
of the thread, then fails with ``SystemError: ... returned a result with an
exception set`` far from its cause, and the client's own state update (an
assignment, a delivery) may be half done.

So every callback is *total*: ``CallbackFaults.guard`` runs it, logs what
it raised with its traceback and records the fault; the client that owns the
callback takes the faults (``take``) after the C call returned and acts on
them where raising is safe (a producer rebuilds and resends, a consumer joins
its group again).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, ParamSpec

from livecore.faults import describe

LOG = logging.getLogger("livecore.kafka")

P = ParamSpec("P")


class CallbackFaults:
    """Faults raised inside one client's callbacks, until the client takes them."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._faults: list[tuple[str, str]] = []

    def guard(self, name: str, callback: Callable[P, object]) -> Callable[P, None]:
        """``callback`` made total: whatever it raises is logged and recorded."""

        @functools.wraps(callback)
        def total(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                callback(*args, **kwargs)
            except BaseException as exc:  # nothing may stay pending in librdkafka
                self.record(name, exc)

        return total

    def record(self, name: str, exc: BaseException) -> None:
        """Log ``exc`` (raised by callback ``name``) and keep it for ``take``."""
        text = describe(exc, 200)
        with contextlib.suppress(BaseException):  # a failing log handler must not escape either
            LOG.error("%s: the %s callback raised %s", self._owner, name, text, exc_info=exc)
        with self._lock:
            self._faults.append((name, text))

    def take(self) -> list[tuple[str, str]]:
        """The faults recorded since the last call, oldest first: (callback name, what it raised)."""
        with self._lock:
            faults, self._faults = self._faults, []
        return faults


class TotalLogger:
    """librdkafka's ``logger``: forwards to a ``logging.Logger``; never raises
    (confluent-kafka calls ``log(level, fmt, *args)`` from inside its C calls)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(BaseException):
            self._logger.log(level, msg, *args, **kwargs)
