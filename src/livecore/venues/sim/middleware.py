"""The armed HTTP faults, applied in front of the venue's routes (never ``/_sim``).

A pure ASGI middleware: a rate-limited request is answered with the venue's
own 429 before it runs; a lost response runs the request (the order is
placed), then sends the status line and headers and cuts the connection
before the body; a delayed response runs the request and answers late.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livecore.venues.sim.faults import Faults

CONTROL_PREFIX = "/_sim"
_UVICORN_ERRORS = "uvicorn.error"


class ResponseLost(Exception):
    """Raised after a lost response's headers: uvicorn then closes the connection."""


class _QuietLostResponses(logging.Filter):
    """uvicorn logs an app's exception with its traceback; a lost response is on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseLost))


def quiet_lost_responses() -> None:
    """Install the filter once (idempotent)."""
    logger = logging.getLogger(_UVICORN_ERRORS)
    if not any(isinstance(f, _QuietLostResponses) for f in logger.filters):
        logger.addFilter(_QuietLostResponses())


class FaultMiddleware:
    """Applies ``faults`` to every venue request; ``rate_limited`` is the venue's 429 answer."""

    def __init__(self, app: ASGIApp, *, faults: Faults, rate_limited: Callable[[int, bool], Response]) -> None:
        self._app = app
        self._faults = faults
        self._rate_limited = rate_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self._app(scope, receive, send)
            return
        key = f"{scope['method']} {scope['path']}"
        limited = self._faults.take_rate_limit(key)
        if limited is not None:
            await self._rate_limited(*limited)(scope, receive, send)
            return
        if self._faults.take_lost(key):
            await self._app(scope, receive, _discard)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4096")]})
            raise ResponseLost(key)
        delay = self._faults.take_delay(key)
        if delay:
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self._app(scope, receive, hold)
            await asyncio.sleep(delay)
            for message in held:
                await send(message)
            return
        await self._app(scope, receive, send)


async def _discard(message: Message) -> None:
    return None
