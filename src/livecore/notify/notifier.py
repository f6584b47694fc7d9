"""The notifier: notices in, apprise messages out, off the caller's thread.

``notify()`` is what a service's hook calls, on its trading path too, so it
does one thing: a non-blocking put on a bounded queue. When the queue is full
the notice is counted as dropped, nothing more (no lock, no log, no I/O on the
caller's thread). One daemon thread owns everything else: it feeds the queue
into the batching policy (``policy.py``), sends what the policy lets out
through apprise, logs and counts what apprise could not deliver (never raised,
never retried: the next message goes on), and reports dropped notices in a
later ``fault`` message. A receiver that hangs holds up only this thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from livecore.config import redact
from livecore.errors import ConfigError
from livecore.faults import describe
from livecore.notify.config import NotifySettings
from livecore.notify.notice import Notice, NoticeKind, cluster_halt_notice, fault_notice
from livecore.notify.policy import Batcher, Message

log = logging.getLogger(__name__)

# apprise's notification types: how a receiver colours or ranks the message
_NOTIFY_TYPE = {
    NoticeKind.CLUSTER_HALT: "failure",
    NoticeKind.RISK_HALT: "failure",
    NoticeKind.FAULT: "failure",
    NoticeKind.NODE_LOST: "warning",
    NoticeKind.FAILOVER: "warning",
    NoticeKind.REJECTION: "warning",
    NoticeKind.FILL: "info",
}

# a message: title, body, kind -> True when every URL took it
Send = Callable[[str, str, NoticeKind], bool]


class NoticeSink(Protocol):
    """What a service's hook needs: whether a kind is wanted (so a notice that
    would be thrown away is never built) and a call that never blocks."""

    def wants(self, kind: NoticeKind) -> bool: ...

    def notify(self, notice: Notice) -> None: ...


class Silent:
    """The sink of a deployment without notification URLs: wants nothing."""

    def wants(self, kind: NoticeKind) -> bool:
        return False

    def notify(self, notice: Notice) -> None:
        return None


NO_NOTICES = Silent()


class AppriseSender:
    """Sends a message to every URL through apprise. A URL apprise does not
    recognise is a ``ConfigError`` at construction, not a silent loss later."""

    def __init__(self, urls: tuple[str, ...]) -> None:
        import apprise  # only a process that notifies pays for the import

        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                raise ConfigError(f"bad notification URL {redact(url)!r}: apprise does not recognise it")

    def __call__(self, title: str, body: str, kind: NoticeKind) -> bool:
        return bool(self._apprise.notify(body=body, title=title, notify_type=_NOTIFY_TYPE[kind]))


class _Stop:
    """Queued by ``close``: the thread sends what it holds and ends."""


_STOP = _Stop()


class Notifier:
    """One per process. ``origin`` names the process in every title
    (``node n1``, ``gateway gw-1``, ``scheduler s1``)."""

    def __init__(
        self,
        settings: NotifySettings,
        *,
        origin: str,
        send: Send | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._kinds = settings.kinds
        self._origin = origin
        self._send = send if send is not None else AppriseSender(settings.urls)
        self._clock = clock
        self._queue: queue.Queue[Notice | _Stop] = queue.Queue(settings.queue_size)
        self._batcher = Batcher(settings.limits)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0  # notices refused because the queue was full
        self._dropped_reported = 0
        self.sent = 0  # messages every URL took
        self.failed = 0  # messages apprise could not deliver (or raised on)

    # --- the hook (any thread, never blocks) -------------------------------------------

    def wants(self, kind: NoticeKind) -> bool:
        return kind in self._kinds

    def notify(self, notice: Notice) -> None:
        if notice.kind not in self._kinds:
            return
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            self.dropped += 1  # a lost increment under a race only under-reports a drop

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"notifier-{self._origin}", daemon=True)
        self._thread.start()

    def close(self, timeout: float | None = None) -> bool:
        """Send what is held (gathering delay and rate limit aside) and stop; True
        when the thread finished within ``timeout`` (default ``close_timeout_s``).
        A thread stuck on a hung receiver is left behind: it is a daemon."""
        timeout = self._settings.close_timeout_s if timeout is None else timeout
        thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout
        self._closing.set()
        with contextlib.suppress(queue.Full):  # the thread is draining: it sees ``_closing`` after each notice
            self._queue.put(_STOP, timeout=timeout)
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("notifier %s: still sending after %.1fs; not waiting longer", self._origin, timeout)
            return False
        self._thread = None
        return True

    def __enter__(self) -> Notifier:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                self._pass()
            except Exception:  # the thread never dies: a notice is never worth a dead notifier
                log.exception("notifier %s: unexpected error", self._origin)
        self._final()

    def _pass(self) -> None:
        """Wait for a notice or for the policy's next due time; send what is due."""
        due = self._batcher.next_due(self._clock())
        timeout = None if due is None else max(0.0, due - self._clock())
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            item = None
        if isinstance(item, Notice):
            self._batcher.add(item, self._clock())
        self._report_drops()
        for message in self._batcher.take(self._clock()):
            self._deliver(message)

    def _final(self) -> None:
        now = self._clock()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Notice):
                self._batcher.add(item, now)
        self._report_drops()
        for message in self._batcher.take_all(now):
            self._deliver(message)

    def _report_drops(self) -> None:
        dropped = self.dropped - self._dropped_reported
        if dropped <= 0:
            return
        self._dropped_reported += dropped
        log.warning("notifier %s: %d notice(s) dropped: queue full (%d in all)", self._origin, dropped, self.dropped)
        self._batcher.add(fault_notice("notifier", f"{dropped} notice(s) dropped: its queue was full"), self._clock())

    def _deliver(self, message: Message) -> None:
        title, body = message.render(self._origin)
        try:
            delivered = self._send(title, body, message.kind)
        except Exception as exc:
            self.failed += 1
            log.warning("notifier %s: sending %r raised: %s", self._origin, title, describe(exc, 300))
            return
        if delivered:
            self.sent += 1
        else:
            self.failed += 1
            log.warning("notifier %s: %r not delivered to every URL (apprise logs why)", self._origin, title)


def announce_cluster_halt(settings: NotifySettings, *, reason: str, by: str, origin: str = "operator") -> bool:
    """Tell the deployment's URLs that trading was halted cluster-wide, and wait
    for it (at most ``close_timeout_s``). The cluster halt command calls this once
    the halt is in force; a process that already runs a ``Notifier`` may instead
    hand it ``cluster_halt_notice`` itself. True when the message went out (or no
    URL is configured); a failure is logged, never raised."""
    if not settings.urls:
        return True
    notifier = Notifier(settings, origin=origin)
    notifier.start()
    notifier.notify(cluster_halt_notice(reason, by))
    notifier.close()
    return notifier.sent > 0 and notifier.failed == 0
