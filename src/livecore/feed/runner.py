"""The publishing loop of a feed: paces scheduled events and publishes them on
``market.data`` (key: symbol), stamped with the wall clock so that nodes treat
them as live, or with their own timestamps in event time (``event_time``).

Each event goes to the partition the wire's partitioner gives its symbol
(``wire.partitioning.market_partition``, over the topic's real partition
count), named explicitly rather than left to the client's default: nodes read
only the partitions that hold their portfolios' symbols.

A lockstep replay passes a ``barrier``: called after each event is published
(and flushed) with the count published so far; it returns when the system has
finished with that event.

A schedule is any iterable of ``(offset_s, event)``: event ``i`` goes out
``offset_s`` seconds after the start, on an absolute schedule (a late event is
published at once and the next ones keep their own times: no drift). The
runner can block (``run(stop_event)``) or run in its own thread
(``start``/``stop``), which is how ``LiveCore`` hosts a feed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import msgspec

from livecore.errors import ConfigError
from livecore.feed.config import FeedConfig
from livecore.feed.readers import ReplayData
from livecore.ports.bus import Bus, BusError, Delivery, Producer
from livecore.retry import Backoff, retry
from livecore.topology import ensure_topics
from livecore.wire.codec import encode
from livecore.wire.messages import MarketEvent
from livecore.wire.names import Topics
from livecore.wire.partitioning import market_partition

log = logging.getLogger(__name__)

_DRAIN = Backoff(0.05, 0.05)  # a refused publish waits for deliveries this long, then tries again


def _bus_refused(exc: Exception, _attempt: int) -> bool:
    """A publish the producer refused (its local queue is full): worth another try."""
    return isinstance(exc, BusError)


Scheduled = tuple[float, MarketEvent]
Barrier = Callable[[int], None]  # called with the count of events published


@dataclass(slots=True)
class ReplayPosition:
    """Where a replay is in its data (for display): the pass (1 = the first) and
    the data's own time of the last event handed out (before any restamp)."""

    pass_number: int = 0
    data_ts_ns: int | None = None


def replay_schedule(
    data: ReplayData,
    speed: float,
    loop: bool = False,
    *,
    shift_passes: bool = False,
    position: ReplayPosition | None = None,
) -> Iterator[Scheduled]:
    """Events of ``data`` at ``speed`` times real time (0 = as fast as possible).

    With ``loop`` the data is replayed again and again; each pass starts one
    typical step (the smallest gap in the data) after the previous one ended.
    ``shift_passes`` (event time) moves each later pass's timestamps by as much,
    so that event time never goes back. ``position`` is kept up to date."""
    if speed < 0:
        raise ValueError(f"speed must be >= 0, got {speed}")
    if not data.events:
        return
    t0 = data.events[0].ts_ns
    pass_ns = data.span_ns + data.typical_step_ns()
    where = position if position is not None else ReplayPosition()
    n = 0
    while True:
        base = n * pass_ns - t0
        shift = n * pass_ns if shift_passes else 0
        where.pass_number = n + 1
        for event in data.events:
            where.data_ts_ns = event.ts_ns
            offset = 0.0 if speed == 0 else (base + event.ts_ns) / 1e9 / speed
            yield offset, (msgspec.structs.replace(event, ts_ns=event.ts_ns + shift) if shift else event)
        if not loop:
            return
        n += 1


class FeedRunner:
    """Publishes a schedule of market events; thread-safe counters for progress."""

    def __init__(
        self,
        bus: Bus,
        schedule: Iterable[Scheduled],
        config: FeedConfig | None = None,
        total: int | None = None,
        clock: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        name: str = "feed",
        barrier: Barrier | None = None,
    ) -> None:
        self._bus = bus
        self._schedule = schedule
        self.config = config or FeedConfig()
        self.topic = Topics(self.config.topic_prefix).market_data
        self.total = total
        self._clock = clock
        self._monotonic = monotonic
        self._name = name
        if barrier is not None and not self.config.event_time:
            raise ConfigError("a lockstep barrier paces event time: it needs FeedConfig.event_time")
        self._barrier = barrier
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._partitions: dict[str, int] = {}  # symbol -> its market.data partition
        self._partition_count = 0
        self.published = 0
        self.delivered = 0
        self.failed = 0
        self.started_at: float | None = None
        self.finished = threading.Event()
        self.error: BaseException | None = None

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Run in a daemon thread until the schedule ends or ``stop`` is called."""
        if self._thread is not None:
            raise RuntimeError("feed already started")
        self._thread = threading.Thread(target=self._run_thread, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end of the schedule; True if it ended."""
        return self.finished.wait(timeout)

    def _run_thread(self) -> None:
        try:
            self.run(self._stop)
        except BaseException as exc:  # reported through .error; the thread must not die silently
            self.error = exc
            log.exception("feed %s failed", self._name)

    # --- the loop ----------------------------------------------------------------

    def _on_delivery(self, delivery: Delivery) -> None:
        if delivery.error is None:
            self.delivered += 1
        else:
            self.failed += 1

    def run(self, stop: threading.Event) -> int:
        """Publish until the schedule ends or ``stop`` is set; return the count published."""
        s = self.config
        try:
            ensure_topics(self._bus, Topics(s.topic_prefix), s.topics)
            self._partition_count = self._bus.partition_count(self.topic)
            self._partitions.clear()
            producer = self._bus.producer()
            try:
                self.started_at = start = self._monotonic()
                for offset, event in self._schedule:
                    delay = start + offset - self._monotonic()
                    while delay > s.min_sleep_s:
                        if stop.wait(min(delay, s.max_sleep_s)):
                            return self.published
                        delay = start + offset - self._monotonic()
                    if stop.is_set():
                        return self.published
                    live = event if s.event_time else msgspec.structs.replace(event, ts_ns=self._clock())
                    self._publish(producer, live)
                    self.published += 1
                    if self._barrier is not None:
                        self._pass_barrier(producer)
                    elif self.published % s.poll_every == 0:
                        producer.poll(0)
            finally:
                producer.flush(s.flush_timeout_s)
                producer.close(s.flush_timeout_s)
        finally:
            self.finished.set()
        return self.published

    def _pass_barrier(self, producer: Producer) -> None:
        producer.flush(self.config.flush_timeout_s)  # the event is on the bus
        assert self._barrier is not None
        self._barrier(self.published)

    def partition(self, symbol: str) -> int:
        """The ``market.data`` partition of ``symbol`` (cached: one CRC per symbol)."""
        found = self._partitions.get(symbol)
        if found is None:
            found = self._partitions[symbol] = market_partition(symbol, self._partition_count)
        return found

    def _publish(self, producer: Producer, event: MarketEvent) -> None:
        payload = encode(event)
        callback = self._on_delivery if self.config.track_deliveries else None
        partition = self.partition(event.symbol)

        def drain(seconds: float) -> bool:
            producer.poll(seconds)  # local queue full: let deliveries drain
            return False

        retry(
            lambda: producer.publish(self.topic, event.symbol, payload, callback, partition=partition),
            retry_on=_bus_refused,
            backoff=_DRAIN.pause,
            give_up_after_s=self.config.publish_retry_s,
            wait=drain,
            clock=self._monotonic,
        )
