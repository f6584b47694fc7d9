"""A small pool of worker threads that runs PortfolioProcessors.

A thousand portfolios do not get a thousand threads: a processor with work is
put on one ready queue (at most once, see ``Mailbox``), a worker takes it,
applies a bounded batch, and puts it back at the end of the queue if more is
waiting. So each portfolio is applied in order by one worker at a time, and a
busy portfolio yields to the others after every batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)


class Runnable(Protocol):
    portfolio_id: str

    def run_batch(self, limit: int) -> bool: ...


_STOP = None


class WorkerPool:
    def __init__(self, *, name: str, workers: int, batch: int) -> None:
        self._name = name
        self._size = workers
        self._batch = batch
        self._ready: queue.SimpleQueue[Runnable | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.busy_since: dict[str, float] = {}  # thread name -> monotonic start of its current batch

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("worker pool already started")
        self._ready = queue.SimpleQueue()
        for index in range(self._size):
            thread = threading.Thread(target=self._work, name=f"{self._name}_{index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def submit(self, item: Runnable) -> None:
        self._ready.put(item)

    def stop(self, timeout: float) -> None:
        """Let each worker finish its current batch and exit."""
        for _ in self._threads:
            self._ready.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("worker %s did not stop within %.1fs", thread.name, timeout)
        self._threads = []

    def queued(self) -> int:
        return self._ready.qsize()

    def alive(self) -> int:
        return sum(1 for thread in self._threads if thread.is_alive())

    def _work(self) -> None:
        name = threading.current_thread().name
        ready, batch, busy = self._ready, self._batch, self.busy_since
        while True:
            item = ready.get()
            if item is None:
                return
            busy[name] = time.monotonic()
            try:
                more = item.run_batch(batch)
            except Exception:  # a processor guards its portfolio; this is a bug in the plumbing
                log.exception("worker %s: processor %s failed", name, item.portfolio_id)
                more = False
            finally:
                busy.pop(name, None)
            if more:
                ready.put(item)
