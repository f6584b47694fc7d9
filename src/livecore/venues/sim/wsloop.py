"""One websocket connection of the simulator: a reader and a single writer.

The reader hands each client message to the venue's handler, which answers by
queuing a ``Reply`` on the connection's own subscriber queue; the writer sends
replies and stream items in queue order, so a subscription's confirmation
always precedes its first event. The connection ends when the client leaves
or the hub closes it (the fault injection's dropped stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from livecore.venues.sim.hub import CLOSED, Hub, Subscriber

GOING_AWAY = 1001


@dataclass(frozen=True)
class Reply:
    """A message to send as it is (a dict as JSON, a str as text)."""

    message: dict[str, Any] | list[Any] | str


class _ClientGone:
    pass


_GONE = _ClientGone()


def reply(subscriber: Subscriber, message: dict[str, Any] | list[Any] | str) -> None:
    """Queue an answer on the connection (called on its own loop)."""
    subscriber.queue.put_nowait(Reply(message))


async def send(ws: WebSocket, message: dict[str, Any] | list[Any] | str) -> None:
    await ws.send_text(message if isinstance(message, str) else json.dumps(message, separators=(",", ":")))


async def serve(
    ws: WebSocket,
    subscriber: Subscriber,
    *,
    hubs: tuple[Hub, ...],
    on_text: Callable[[str], Awaitable[None]],
    on_item: Callable[[object], Awaitable[None]],
) -> None:
    """Run the connection until either side ends it; leaves every hub in ``hubs``."""

    async def read() -> None:
        try:
            while True:
                await on_text(await ws.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            subscriber.queue.put_nowait(_GONE)

    reader = asyncio.create_task(read())
    try:
        while True:
            item = await subscriber.next()
            if item is _GONE:
                break
            if item is CLOSED:
                with contextlib.suppress(Exception):
                    await ws.close(GOING_AWAY)
                break
            if isinstance(item, Reply):
                await send(ws, item.message)
            else:
                await on_item(item)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        for hub in hubs:
            hub.unsubscribe(subscriber)
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
