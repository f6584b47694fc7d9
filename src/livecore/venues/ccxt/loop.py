"""An asyncio event loop on its own daemon thread, for clients that are async.

ccxt.pro's clients (REST and websockets) live in one event loop. The gateway's
threads never wait on the network: they hand coroutines to this loop
(``spawn``) and read results the loop left behind. Only ``call`` blocks, with a
timeout, for the rare question that needs an answer at once (looking an order
up at start).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._tasks: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait for its result (raises what it raised,
        ``TimeoutError`` after ``timeout`` seconds, when the coroutine is cancelled)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{self.name}: no answer within {timeout:g}s") from None

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        """Run ``coro`` on the loop without waiting; what it raises is logged."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        with self._lock:
            self._tasks.add(future)

        def done(f: concurrent.futures.Future[Any]) -> None:
            with self._lock:
                self._tasks.discard(f)
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:
                log.error("%s: %s failed", self.name, what, exc_info=exc)

        future.add_done_callback(done)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._tasks)

    def stop(self, close: Coroutine[Any, Any, Any] | None = None, timeout: float = 10.0) -> None:
        """Cancel what runs, run ``close`` (the clients' own cleanup), stop the loop."""
        if not self._thread.is_alive():
            if close is not None:
                close.close()
            return

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if close is not None:
                await close

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout)
        except Exception:
            log.exception("%s: shutdown did not finish cleanly", self.name)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
