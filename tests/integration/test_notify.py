"""Notifications through apprise to a local HTTP receiver (``json://127.0.0.1:PORT/``):
batched, never in the caller's way when the receiver hangs or fails, and a
process with a stuck receiver still shuts down."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from livecore.config import DeploymentSettings
from livecore.livecore import LiveCore, LiveCoreConfig, ReplayPlan
from livecore.notify import BatchSettings, Notice, NoticeKind, Notifier, NotifySettings, announce_cluster_halt
from livecore.testing.receiver import NotificationReceiver
from livecore.testing.servers import wait_until
from livecore.testing.strategies import spec_toml

HALT, REJECTION, FAULT = NoticeKind.RISK_HALT, NoticeKind.REJECTION, NoticeKind.FAULT
TIMEOUT = 30.0


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    with NotificationReceiver() as receiver:
        yield receiver


def notifier(receiver: NotificationReceiver, batch_s: float, queue_size: int = 1000) -> Notifier:
    limits = BatchSettings(batch_s=batch_s, window_s=60, max_messages=10, max_lines=3)
    settings = NotifySettings(urls=(receiver.url,), limits=limits, queue_size=queue_size, close_timeout_s=TIMEOUT)
    return Notifier(settings, origin="test")


def counted(bodies: list[dict[str, Any]]) -> Counter[str]:
    """Notices per kind label, read back from the titles (``N x kind`` or ``kind``)."""
    out = Counter[str]()
    for body in bodies:
        match = re.fullmatch(r"livecore test: (?:(\d+) x )?(.+)", body["title"])
        assert match, body["title"]
        out[match[2]] += int(match[1] or 1)
    return out


def test_notices_arrive_batched_per_kind(receiver: NotificationReceiver) -> None:
    with notifier(receiver, batch_s=3600) as n:  # nothing leaves before close: the batches are exact
        for i in range(5):
            n.notify(Notice(HALT, f"p{i} halted: daily loss"))
        for i in range(2):
            n.notify(Notice(REJECTION, f"p{i}: order rejected: stale_epoch"))
    assert n.sent == 2 and n.failed == 0
    halts, rejections = receiver.received()
    assert halts["title"] == "livecore test: 5 x risk halt" and halts["type"] == "failure"
    assert halts["message"].splitlines() == [
        "p0 halted: daily loss",
        "p1 halted: daily loss",
        "p2 halted: daily loss",
        "... and 2 more",
    ]
    assert rejections["title"] == "livecore test: 2 x rejection" and rejections["type"] == "warning"


def test_notices_leave_after_the_gathering_delay_while_running(receiver: NotificationReceiver) -> None:
    with notifier(receiver, batch_s=0.2) as n:
        for i in range(20):
            n.notify(Notice(HALT, f"p{i}"))
        receiver.wait_for(1)
        wait_until(lambda: counted(receiver.received())["risk halt"] == 20, TIMEOUT, "all 20 halts told")
    assert len(receiver.received()) < 20  # merged, not one message per notice


def test_a_hanging_receiver_delays_no_caller(receiver: NotificationReceiver) -> None:
    receiver.hang = True
    n = notifier(receiver, batch_s=0, queue_size=50)
    n.start()
    n.notify(Notice(HALT, "first"))
    assert receiver.hanging.wait(TIMEOUT)  # the notifier's thread is stuck in apprise
    for i in range(2000):
        n.notify(Notice(REJECTION, f"p{i}"))
    assert not receiver.release.is_set()  # every notify() above returned while the receiver hung
    assert n.dropped == 2000 - 50
    receiver.hang = False
    receiver.release.set()
    assert n.close()
    told = counted(receiver.received())
    assert told["risk halt"] == 1 and told["rejection"] == 50
    assert any("1950 notice(s) dropped" in body["message"] for body in receiver.received())


def test_a_failing_receiver_is_counted_and_the_next_message_goes(receiver: NotificationReceiver) -> None:
    receiver.status = 500
    with notifier(receiver, batch_s=0) as n:
        n.notify(Notice(FAULT, "p1 faulted"))
        wait_until(lambda: n.failed == 1, TIMEOUT, "the refused message counted")
        receiver.status = 200
        n.notify(Notice(FAULT, "p2 faulted"))
        wait_until(lambda: n.sent == 1, TIMEOUT, "the next message delivered")
    assert [body["message"] for body in receiver.received()] == ["p1 faulted", "p2 faulted"]


def test_the_cluster_halt_announcement_goes_out_at_once(receiver: NotificationReceiver) -> None:
    settings = NotifySettings(urls=(receiver.url,), limits=BatchSettings(batch_s=3600))
    assert announce_cluster_halt(settings, reason="market closed early", by="ops@desk", origin="test")
    (body,) = receiver.received()
    assert body["title"] == "livecore test: cluster halt"
    assert body["message"] == "trading halted cluster-wide by ops@desk: market closed early"


def test_a_process_with_a_hung_receiver_still_exits(receiver: NotificationReceiver) -> None:
    receiver.hang = True
    script = textwrap.dedent(
        f"""
        import sys
        from livecore.notify import BatchSettings, Notice, NoticeKind, Notifier, NotifySettings
        settings = NotifySettings(urls=({receiver.url!r},), limits=BatchSettings(batch_s=0))
        notifier = Notifier(settings, origin="child")
        notifier.start()
        notifier.notify(Notice(NoticeKind.FAULT, "stuck"))
        sys.stdin.readline()  # the parent says: the receiver holds the message
        print("closed", notifier.close(timeout=0.5))
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert receiver.hanging.wait(TIMEOUT), "the child's message never reached the receiver"
        out, err = child.communicate("go\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "closed False" in out  # it gave up waiting for the hung receiver, and exited
    assert not receiver.release.is_set()


def test_livecore_tells_a_fault_and_a_fill_to_a_receiver(tmp_path: Path, receiver: NotificationReceiver) -> None:
    """The whole system in one process: the node tells the faulted portfolio, the
    gateway the fill (opted in); both arrive by the time ``stop`` returns."""
    (tmp_path / "boom.toml").write_text(spec_toml("boom", ["AAPL"], strategy="livecore.testing.strategies:Explode"))
    (tmp_path / "buy.toml").write_text(spec_toml("buy", ["AAPL"]))
    settings = DeploymentSettings(
        bus_url=f"memory://{uuid.uuid4().hex}",
        coord_url=f"memory://{uuid.uuid4().hex}",
        db_url=f"sqlite:///{tmp_path / 'lc.db'}",
        notify_urls=(receiver.url,),
        notify_fills=True,
    )
    config = LiveCoreConfig(
        nodes=1,
        feed=ReplayPlan(speed=86_400 * 200.0),
        portfolio_files=(tmp_path / "boom.toml", tmp_path / "buy.toml"),
        ready_timeout_s=60,
    )
    with LiveCore(settings, config) as core:

        def seen() -> set[str]:
            report = core.status()
            faulted = {p.portfolio_id for p in report.portfolios if p.state == "faulted"}
            return faulted | {p.portfolio_id for p in report.portfolios if p.positions}

        wait_until(lambda: seen() == {"boom", "buy"}, 60, "boom faulted and buy filled")
    messages = {body["title"]: body["message"] for body in receiver.received()}
    assert "boom: faulted, no more orders: strategy.on_bar: RuntimeError: strategy bug" in messages.pop(
        "livecore run: fault"
    )
    assert re.match(r"buy: filled buy 1 AAPL @ [\d.]+ \(order buy-1-1, fill ", messages.pop("livecore run: fill"))
