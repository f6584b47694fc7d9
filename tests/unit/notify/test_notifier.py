"""The notifier's thread and queue with a sender in the test's hands (no network):
the hook never blocks, drops and failures are counted, never raised."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from livecore.errors import ConfigError
from livecore.notify import (
    NO_NOTICES,
    AppriseSender,
    BatchSettings,
    Notice,
    NoticeKind,
    Notifier,
    NotifySettings,
    announce_cluster_halt,
)
from livecore.testing.servers import wait_until

HALT, FILL, FAULT = NoticeKind.RISK_HALT, NoticeKind.FILL, NoticeKind.FAULT
TIMEOUT = 10.0


class Sender:
    """Records messages; can block (until ``release``), raise or refuse."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, NoticeKind]] = []
        self.block = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.outcome: bool | Exception = True

    def __call__(self, title: str, body: str, kind: NoticeKind) -> bool:
        self.messages.append((title, body, kind))
        if self.block:
            self.entered.set()
            self.release.wait(TIMEOUT)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def settings(batch_s: float = 0.0, queue_size: int = 100, fills: bool = False, **limits: int) -> NotifySettings:
    return NotifySettings(
        urls=("json://unused/",),
        fills=fills,
        queue_size=queue_size,
        limits=BatchSettings(batch_s=batch_s, **limits),  # type: ignore[arg-type]
        close_timeout_s=TIMEOUT,
    )


@pytest.fixture
def sender() -> Iterator[Sender]:
    sender = Sender()
    yield sender
    sender.release.set()


def test_notify_returns_at_once_while_the_sender_hangs_and_counts_what_it_drops(sender: Sender) -> None:
    sender.block = True
    notifier = Notifier(settings(queue_size=10), origin="t", send=sender)
    notifier.start()
    notifier.notify(Notice(HALT, "first"))
    assert sender.entered.wait(TIMEOUT)  # the thread is stuck inside the sender
    for i in range(500):
        notifier.notify(Notice(HALT, f"p{i}"))
    assert not sender.release.is_set()  # every call above returned while it was stuck
    assert notifier.dropped == 500 - 10
    sender.block = False
    sender.release.set()
    assert notifier.close()
    bodies = "\n".join(body for _, body, _ in sender.messages)
    assert "490 notice(s) dropped: its queue was full" in bodies


def test_a_sender_that_fails_or_raises_is_counted_and_the_next_message_still_goes(sender: Sender) -> None:
    notifier = Notifier(settings(), origin="t", send=sender)
    notifier.start()
    sender.outcome = RuntimeError("receiver down")
    notifier.notify(Notice(HALT, "a"))
    wait_until(lambda: notifier.failed == 1, TIMEOUT, "a failed send")
    sender.outcome = False
    notifier.notify(Notice(FAULT, "b"))
    wait_until(lambda: notifier.failed == 2, TIMEOUT, "a refused send")
    sender.outcome = True
    notifier.notify(Notice(HALT, "c"))
    wait_until(lambda: notifier.sent == 1, TIMEOUT, "a delivered send")
    assert notifier.close()
    assert [body for _, body, _ in sender.messages] == ["a", "b", "c"]


def test_close_sends_what_is_held_at_once(sender: Sender) -> None:
    notifier = Notifier(settings(batch_s=3600), origin="node n1", send=sender)
    notifier.start()
    for i in range(3):
        notifier.notify(Notice(HALT, f"p{i} halted"))
    notifier.notify(Notice(FAULT, "p9 faulted"))
    assert notifier.close()
    assert sender.messages == [
        ("livecore node n1: 3 x risk halt", "p0 halted\np1 halted\np2 halted", HALT),
        ("livecore node n1: fault", "p9 faulted", FAULT),
    ]


def test_fills_are_opt_in(sender: Sender) -> None:
    quiet = Notifier(settings(batch_s=3600), origin="t", send=sender)
    assert not quiet.wants(FILL) and quiet.wants(HALT)
    quiet.start()
    quiet.notify(Notice(FILL, "f"))
    assert quiet.close() and sender.messages == []
    loud = Notifier(settings(batch_s=3600, fills=True), origin="t", send=sender)
    assert loud.wants(FILL)
    loud.start()
    loud.notify(Notice(FILL, "f"))
    assert loud.close() and [kind for _, _, kind in sender.messages] == [FILL]


def test_close_does_not_wait_forever_on_a_hung_sender(sender: Sender) -> None:
    sender.block = True
    notifier = Notifier(settings(), origin="t", send=sender)
    notifier.start()
    notifier.notify(Notice(HALT, "a"))
    assert sender.entered.wait(TIMEOUT)
    assert notifier.close(timeout=0.2) is False  # left behind: a daemon thread


def test_without_urls_nothing_is_wanted() -> None:
    assert not any(NO_NOTICES.wants(kind) for kind in NoticeKind)
    NO_NOTICES.notify(Notice(HALT, "ignored"))
    assert announce_cluster_halt(NotifySettings(), reason="r", by="op")


def test_apprise_refuses_an_unknown_url_up_front() -> None:
    with pytest.raises(ConfigError, match="bad notification URL"):
        AppriseSender(("nosuchservice://x",))
