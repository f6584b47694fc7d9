"""Fan-out from any thread to the websocket connections on the server's loop.

The venue publishes under its own lock (from a request handler, a test's
control call or the HTTP control API), so every subscriber sees the events in
the order they happened. ``close_all`` ends every current subscription after
what was already queued: the private-stream drop of the fault injection.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Final


class _Closed:
    """The sentinel that tells a connection to close."""


CLOSED: Final = _Closed()


class Subscriber:
    """One connection's queue on its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    def put(self, item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the server is stopping
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    async def next(self) -> object:
        return await self.queue.get()


class Hub:
    """Subscribers of one kind of item (the private or the public stream)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, subscriber: Subscriber | None = None) -> Subscriber:
        """Add ``subscriber`` (a new one on the running loop if None)."""
        subscriber = subscriber or Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def publish(self, item: object) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.put(item)

    def close_all(self) -> int:
        """End every subscription after what it has queued; returns how many."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, set()
        for subscriber in subscribers:
            subscriber.put(CLOSED)
        return len(subscribers)

    def count(self) -> int:
        with self._lock:
            return len(self._subscribers)
